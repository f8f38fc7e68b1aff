#include "agent/probes/probe_operations.h"

#include <map>
#include <set>

#include "common/utc_time.h"

namespace hisgate::agent::probes {

namespace {

struct OperationInfo {
    Operation op;
    const char* name;
    const char* case_meaning;
};

const OperationInfo kOperations[] = {
    {Operation::GetReport, "get_report", "a report id"},
    {Operation::ListReports, "list_reports", "a patient id"},
    {Operation::DoctorSchedule, "doctor_schedule", "a doctor id"},
    {Operation::PaymentStatus, "payment_status", "a test order id"},
};

const OperationInfo& info(Operation op) {
    for (const auto& i : kOperations)
        if (i.op == op) return i;
    return kOperations[0];  // unreachable: every enumerator is in the table
}

// Sets `key` only when the value says something: absent and empty are the same answer.
void put(nlohmann::json& obj, const char* key, const std::string& value) {
    if (!value.empty()) obj[key] = value;
}

// A key unique within `obj`: the id itself, or id#2, id#3 ... for repeats.
std::string unique_key(const nlohmann::json& obj, std::string id) {
    if (id.empty()) id = "(no id)";
    if (!obj.contains(id)) return id;
    for (int n = 2;; ++n) {
        std::string k = id + "#" + std::to_string(n);
        if (!obj.contains(k)) return k;
    }
}

std::string utc_date(std::chrono::system_clock::time_point t) { return utc_strftime(t, "%Y-%m-%d"); }

Error case_gone(Operation op, const std::string& case_id) {
    return make_error(ErrorClass::NotFound, "probe.case_not_found",
                      "the HIS has no " + std::string(info(op).case_meaning).substr(2) + " " + case_id);
}

}  // namespace

std::string_view to_string(Operation op) { return info(op).name; }

std::optional<Operation> operation_from_string(std::string_view name) {
    for (const auto& i : kOperations)
        if (name == i.name) return i.op;
    return std::nullopt;
}

const std::vector<std::string>& operation_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& i : kOperations) v.push_back(i.name);
        return v;
    }();
    return names;
}

std::string_view case_meaning(Operation op) { return info(op).case_meaning; }

nlohmann::json canonical_report(const Report& r) {
    nlohmann::json j = nlohmann::json::object();
    put(j, "report_id", r.report_id);
    put(j, "patient_id", r.patient_id);
    put(j, "title", r.title);
    put(j, "status", r.status);
    put(j, "issued_at", r.issued_at);
    nlohmann::json obs = nlohmann::json::object();
    for (const auto& o : r.observations) {
        nlohmann::json e = nlohmann::json::object();
        put(e, "name", o.name);
        put(e, "value", o.value);
        put(e, "units", o.units);
        put(e, "reference_range", o.reference_range);
        put(e, "flag", o.flag);
        obs[unique_key(obs, o.code)] = std::move(e);
    }
    if (!obs.empty()) j["observations"] = std::move(obs);
    return j;
}

nlohmann::json canonical_report_list(const std::vector<ReportSummary>& list) {
    nlohmann::json reports = nlohmann::json::object();
    for (const auto& s : list) {
        nlohmann::json e = nlohmann::json::object();
        put(e, "title", s.title);
        put(e, "status", s.status);
        put(e, "issued_at", s.issued_at);
        reports[unique_key(reports, s.report_id)] = std::move(e);
    }
    return nlohmann::json{{"reports", std::move(reports)}};
}

std::optional<nlohmann::json> canonical_schedule(const ReferenceData& data, const std::string& doctor_id) {
    const Doctor* doctor = nullptr;
    for (const auto& d : data.doctors)
        if (d.doctor_id == doctor_id) doctor = &d;
    if (!doctor) return std::nullopt;
    nlohmann::json doc = nlohmann::json::object();
    put(doc, "doctor_id", doctor->doctor_id);
    put(doc, "department_id", doctor->department_id);
    put(doc, "name", doctor->name);
    put(doc, "title", doctor->title);
    // A shape is what a patient can book: a timed slot, a half day, or a whole day; its
    // capacities and fees over the week are kept as sets, so the day of the week the
    // window starts on does not matter.
    std::map<std::string, std::pair<std::set<int64_t>, std::set<int64_t>>> shapes;
    for (const auto& s : data.slots) {
        if (s.doctor_id != doctor_id) continue;
        std::string key = !s.start.empty() ? s.start + "-" + s.end : !s.half.empty() ? s.half : "whole_day";
        shapes[key].first.insert(s.capacity);
        shapes[key].second.insert(s.fee_cents);
    }
    nlohmann::json shape_json = nlohmann::json::object();
    for (const auto& [key, v] : shapes)
        shape_json[key] = {{"capacity", std::vector<int64_t>(v.first.begin(), v.first.end())},
                           {"fee_cents", std::vector<int64_t>(v.second.begin(), v.second.end())}};
    nlohmann::json j{{"doctor", std::move(doc)}};
    if (!shape_json.empty()) j["slot_shapes"] = std::move(shape_json);
    return j;
}

nlohmann::json canonical_payment(const Payment& p) {
    nlohmann::json j = nlohmann::json::object();
    put(j, "order_id", p.order_id);
    put(j, "status", p.status);
    j["amount_cents"] = p.amount_cents;
    return j;
}

Result<nlohmann::json> ask(HisAdapter& his, Operation op, const std::string& case_id,
                           std::chrono::system_clock::time_point now) {
    switch (op) {
        case Operation::GetReport: {
            auto r = his.get_report(case_id);
            if (!r) return r.error();
            return canonical_report(r.value());
        }
        case Operation::ListReports: {
            auto r = his.list_reports(case_id);
            if (!r) return r.error();
            return canonical_report_list(r.value());
        }
        case Operation::DoctorSchedule: {
            auto day = std::chrono::floor<std::chrono::days>(now);
            auto r = his.extract_reference_data(utc_date(day), utc_date(day + std::chrono::days(kScheduleDays - 1)));
            if (!r) return r.error();
            auto j = canonical_schedule(r.value(), case_id);
            if (!j) return case_gone(op, case_id);
            return std::move(*j);
        }
        case Operation::PaymentStatus: {
            auto r = his.payment_status(case_id);
            if (!r) return r.error();
            if (r->status == "not_found") return case_gone(op, case_id);
            return canonical_payment(r.value());
        }
    }
    return make_error(ErrorClass::Internal, "probe.unknown_operation", "no such probe operation");
}

}  // namespace hisgate::agent::probes
