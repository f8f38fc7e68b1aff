#include "adapters/rest/rest_fields.h"
#include "common/check.h"


namespace hisgate::rest {

const std::map<std::string, std::string> kDefaultKeys = {
    {"order.id", "orderId"},
    {"slot.id", "slotId"},
    {"patient.id", "patientId"},
    {"patient.sex", "patientSex"},
    {"appointment.status", "status"},
    {"payment.amount", "amountCents"},
    {"payment.method", "method"},
    {"payment.status", "status"},
    {"payment.kind", "kind"},
    {"statement.lines", "lines"},
    {"statement.date", "date"},
    {"report.id", "reportId"},
    {"report.title", "title"},
    {"report.status", "status"},
    {"report.issued", "issuedAt"},
    {"report.observations", "observations"},
    {"reports", "reports"},
    {"observation.code", "code"},
    {"observation.name", "name"},
    {"observation.value", "value"},
    {"observation.units", "units"},
    {"observation.reference_range", "referenceRange"},
    {"observation.flag", "flag"},
    {"reference.from", "from"},
    {"reference.to", "to"},
    {"reference.departments", "departments"},
    {"reference.doctors", "doctors"},
    {"reference.slots", "slots"},
    {"department.id", "departmentId"},
    {"department.name", "name"},
    {"doctor.id", "doctorId"},
    {"doctor.name", "name"},
    {"doctor.title", "title"},
    {"slot.date", "date"},
    {"slot.start", "start"},
    {"slot.end", "end"},
    {"slot.half", "half"},
    {"slot.capacity", "capacity"},
    {"slot.booked", "booked"},
    {"slot.fee", "feeCents"},
};

Result<RestFields> RestFields::from_json(const nlohmann::json& renames, const std::string& parameter) {
    RestFields f;
    f.keys_ = kDefaultKeys;
    if (!renames.is_object())
        return make_error(ErrorClass::Config, "params.invalid", parameter + ": expected an object of logical field -> JSON key");
    for (const auto& [logical, key] : renames.items()) {
        if (!kDefaultKeys.count(logical)) {
            std::string known;
            for (const auto& [name, _] : kDefaultKeys) known += (known.empty() ? "" : ", ") + name;
            return make_error(ErrorClass::Config, "params.invalid",
                              parameter + "." + logical + ": expected one of the logical fields " + known);
        }
        bool usable = key.is_string() && !key.get<std::string>().empty();
        if (usable && key.get<std::string>()[0] == '/') {
            try {
                nlohmann::json::json_pointer check(key.get<std::string>());
            } catch (const nlohmann::json::exception&) {
                usable = false;
            }
        }
        if (!usable)
            return make_error(ErrorClass::Config, "params.invalid",
                              parameter + "." + logical + ": expected a JSON key such as \"patientNo\" or a JSON pointer such as \"/patient/cardNo\", found " +
                                  key.dump());
        f.keys_[logical] = key.get<std::string>();
    }
    return f;
}

const std::string& RestFields::where(const std::string& logical) const {
    auto it = keys_.find(logical);
    HISGATE_CHECK(it != keys_.end(), "logical REST field (one of kDefaultKeys)", logical);
    return it->second;
}

const nlohmann::json* RestFields::find(const nlohmann::json& obj, const std::string& logical) const {
    const std::string& at = where(logical);
    if (!obj.is_object()) return nullptr;
    if (at[0] != '/') {
        auto it = obj.find(at);
        return it == obj.end() ? nullptr : &*it;
    }
    nlohmann::json::json_pointer ptr(at);  // checked in from_json
    return obj.contains(ptr) ? &obj.at(ptr) : nullptr;
}

std::string RestFields::text(const nlohmann::json& obj, const std::string& logical) const {
    const nlohmann::json* v = find(obj, logical);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

void RestFields::put(nlohmann::json& obj, const std::string& logical, nlohmann::json value) const {
    const std::string& at = where(logical);
    if (at[0] == '/') obj[nlohmann::json::json_pointer(at)] = std::move(value);
    else obj[at] = std::move(value);
}

}  // namespace hisgate::rest
