// A hospital's reference data as the public partition takes it from the agents: change
// sets (event reference.changeset, docs/extraction.md) and whole snapshots (the answer to
// reference.snapshot). Read here once, within bounds, into plain values; nothing past this
// file sees the agent's JSON unchecked.
//
// Invariants of a value parse_* returns (checked here, relied on by every store):
//  - hospital is the hospital of the topic it came on; seq >= 1 and base_seq == seq - 1;
//  - every record's entity is one of kEntities, its key 1..kMaxKeyBytes printable bytes,
//    and an upsert's data is an object holding the entity's fields with their types and
//    ranges (field_rules in change_set.cpp), its id field equal to the key;
//  - a hospital record's key is the hospital itself.
// A change set that breaks one is refused whole: none of it is applied.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::controlplane::public_partition {

inline constexpr int kChangeSetSchema = 1;
inline constexpr size_t kMaxKeyBytes = 128;
inline constexpr size_t kMaxRecords = 100000;  // per change set or snapshot (a 4 MiB event holds fewer)

inline constexpr const char* kHospital = "hospital";
inline constexpr const char* kDepartment = "department";
inline constexpr const char* kDoctor = "doctor";
inline constexpr const char* kSlot = "slot";
inline constexpr const char* kEntities[] = {kHospital, kDepartment, kDoctor, kSlot};

struct RecordChange {
    std::string entity;
    std::string key;
    bool remove = false;  // op "delete"
    nlohmann::json data;  // the whole record for an upsert; null for a delete
};

struct ChangeSet {
    std::string hospital_id;
    int64_t seq = 0;
    std::string source;  // "pull" | "push" (for logs)
    std::vector<RecordChange> changes;
};

struct Snapshot {
    std::string hospital_id;
    int64_t seq = 0;                   // the last change set the snapshot includes
    std::vector<RecordChange> records; // upserts only
};

// `body` is the event's body; `hospital_id` the hospital of its topic. Errors, BadInput:
//   changeset.schema    a schema other than kChangeSetSchema
//   changeset.hospital  a hospital other than the topic's
//   changeset.seq       seq or baseSeq missing, out of range, or baseSeq != seq - 1
//   changeset.record    a malformed change, naming its index and field
Result<ChangeSet> parse_change_set(const nlohmann::json& body, const std::string& hospital_id);

// A change set's "changes" array alone, checked as parse_change_set checks it (errors
// changeset.record): the records a stream entry or a held change set carries.
Result<std::vector<RecordChange>> parse_change_records(const nlohmann::json& changes, const std::string& hospital_id);

// The body of a reference.snapshot answer; errors as above, code prefix snapshot.*.
Result<Snapshot> parse_snapshot(const nlohmann::json& body, const std::string& hospital_id);

}  // namespace hisgate::controlplane::public_partition
