#include "agent/extraction/reference_records.h"

#include <set>

namespace hisgate::extraction {

Record hospital_record(const std::string& hospital_id, const HospitalInfo& h) {
    return {kHospital, hospital_id, "",
            {{"hospitalId", hospital_id}, {"name", h.name}, {"region", h.region}, {"city", h.city}, {"level", h.level}}};
}

Record record_of(const Department& d) {
    return {kDepartment, d.department_id, "", {{"departmentId", d.department_id}, {"name", d.name}}};
}

Record record_of(const Doctor& d) {
    return {kDoctor, d.doctor_id, "",
            {{"doctorId", d.doctor_id}, {"departmentId", d.department_id}, {"name", d.name}, {"title", d.title}}};
}

Record record_of(const ScheduleSlot& s) {
    return {kSlot, s.slot_id, s.date,
            {{"slotId", s.slot_id}, {"doctorId", s.doctor_id}, {"departmentId", s.department_id}, {"date", s.date},
             {"start", s.start}, {"end", s.end}, {"half", s.half}, {"capacity", s.capacity}, {"booked", s.booked},
             {"feeCents", s.fee_cents}}};
}

Result<std::vector<Record>> records_of(const ReferenceData& data) {
    std::vector<Record> out;
    out.reserve(data.departments.size() + data.doctors.size() + data.slots.size());
    for (const auto& d : data.departments) out.push_back(record_of(d));
    for (const auto& d : data.doctors) out.push_back(record_of(d));
    for (const auto& s : data.slots) out.push_back(record_of(s));
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& r : out) {
        if (r.key.empty())
            return make_error(ErrorClass::Protocol, "extraction.bad_key",
                              "the HIS sent a " + r.entity + " without an id; expected every record to have one");
        if (!seen.insert({r.entity, r.key}).second)
            return make_error(ErrorClass::Protocol, "extraction.bad_key",
                              "the HIS sent " + r.entity + " " + r.key + " twice in one extraction; expected each id once");
    }
    return out;
}

nlohmann::json Change::to_json() const {
    return {{"entity", record.entity},
            {"op", op == Op::Upsert ? "upsert" : "delete"},
            {"key", record.key},
            {"data", op == Op::Upsert ? record.data : nlohmann::json(nullptr)}};
}

}  // namespace hisgate::extraction
