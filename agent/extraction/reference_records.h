// Reference data as keyed records, the unit the snapshot stores and a change set carries:
// the hospital itself, a department, doctor or slot, its key (the HIS's id; the platform's
// hospital id for the hospital) and its data as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/error.h"

namespace hisgate::extraction {

// Entity names as change sets spell them.
inline constexpr const char* kHospital = "hospital";
inline constexpr const char* kDepartment = "department";
inline constexpr const char* kDoctor = "doctor";
inline constexpr const char* kSlot = "slot";

struct Record {
    std::string entity;  // kHospital, kDepartment, kDoctor, kSlot
    std::string key;     // the HIS's id of the thing
    std::string date;    // slots: YYYY-MM-DD (what a pull's window covers); "" otherwise
    nlohmann::json data; // the thing in the platform's JSON (camelCase keys)
};

// What the portal shows of the hospital, from the agent's parameters (hospital.*), not
// the HIS: one record, keyed by the platform's hospital id.
struct HospitalInfo {
    std::string name, region, city, level;
};
Record hospital_record(const std::string& hospital_id, const HospitalInfo& h);
Record record_of(const Department& d);
Record record_of(const Doctor& d);
Record record_of(const ScheduleSlot& s);

// Every record of an extraction. Errors: Protocol "extraction.bad_key" for an empty id or
// the same id twice within one entity (the HIS's answer is ambiguous; nothing is applied).
Result<std::vector<Record>> records_of(const ReferenceData& data);

enum class Op { Upsert, Delete };

struct Change {
    Op op = Op::Upsert;
    Record record;  // for Delete, data is null

    // {"entity", "op": "upsert"|"delete", "key", "data"}
    nlohmann::json to_json() const;
};

}  // namespace hisgate::extraction
