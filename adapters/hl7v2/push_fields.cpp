#include "adapters/hl7v2/push_fields.h"

#include "hl7/path.h"

namespace hisgate::hl7v2 {

const std::map<std::string, std::string> kStandardPushFields = {
    {"record.event", "MFE-1"},           // MAD add, MUP update, MDL delete, MDC deactivate, MAC reactivate
    {"record.key", "MFE-4-1"},           // the master file record's primary key
    {"department.name", "LOC-2"},        // location description
    {"doctor.family_name", "STF-3-1"},
    {"doctor.given_name", "STF-3-2"},
    {"doctor.department_id", "STF-7-1"},
    {"doctor.title", "PRA-3-1"},         // practitioner category
    {"slot.id", "SCH-2-1"},              // filler appointment id: the HIS's own slot id
    {"slot.start", "SCH-11-4"},          // YYYYMMDD[HHMM]: a date alone is a half- or whole-day quota
    {"slot.end", "SCH-11-5"},
    {"slot.doctor_id", "AIP-3-1"},
    {"slot.department_id", "AIL-3-1"},
    {"slot.half", "ZSL-7"},
    {"slot.capacity", "ZSL-8"},
    {"slot.booked", "ZSL-9"},
    {"slot.fee", "ZSL-10"},              // decimal, e.g. 25.00
};

std::string PushFields::path(const std::string& logical) const {
    if (auto it = moved.find(logical); it != moved.end()) return it->second;
    return kStandardPushFields.at(logical);
}

Result<PushFields> PushFields::from_json(const nlohmann::json& fields) {
    PushFields out;
    std::string problems;
    auto problem = [&problems](const std::string& text) {
        problems += (problems.empty() ? "" : "\n") + std::string("extraction.hl7.fields") + text;
    };
    if (!fields.is_object()) {
        problem(": expected an object mapping logical fields to HL7 paths, found " + fields.dump());
    } else {
        for (const auto& [name, value] : fields.items()) {
            if (!kStandardPushFields.count(name)) {
                std::string known;
                for (const auto& [k, _] : kStandardPushFields) known += (known.empty() ? "" : ", ") + k;
                problem("." + name + ": expected one of the logical fields (" + known + "), found \"" + name + "\"");
            } else if (!value.is_string()) {
                problem("." + name + ": expected an HL7 path such as \"STF-3-1\", found " + value.dump());
            } else if (auto p = hl7::parse_path(value.get<std::string>()); !p) {
                problem("." + name + ": expected an HL7 path such as \"STF-3-1\", found \"" + value.get<std::string>() +
                        "\" (" + p.error().message + ")");
            } else {
                out.moved[name] = value.get<std::string>();
            }
        }
    }
    if (!problems.empty()) return make_error(ErrorClass::Config, "params.invalid", problems);
    return out;
}

}  // namespace hisgate::hl7v2
