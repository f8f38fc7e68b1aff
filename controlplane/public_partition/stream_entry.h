// One step of the public partition's change stream: what the primary applied, in the order
// it applied it, numbered by `pos` (1, 2, 3 ... with no gaps). A replica that applies every
// entry in pos order holds what the primary held at that pos, which `checksum` proves
// (reference_tables.h). Wire form (the primary's stream answer, docs/public-partition.md):
//
//   {"pos": 42, "hospital": "H001", "kind": "changes" | "replace" | "state", "seq": 7,
//    "suspect": false, "checksum": "9f0c...16 hex", "atMs": 1733300000000,
//    "records": [{"entity": "slot", "key": "S1", "op": "upsert" | "delete", "data": {...} | null}]}
//
//   changes  the records of one change set (seq) of the hospital
//   replace  a snapshot: every row of the hospital goes, then the records (upserts) come in
//   state    only the hospital's seq and suspect flag change (a gap opened), no records
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/public_partition/change_set.h"

namespace hisgate::controlplane::public_partition {

enum class EntryKind { Changes, Replace, State };

struct StreamEntry {
    int64_t pos = 0;
    std::string hospital_id;
    EntryKind kind = EntryKind::Changes;
    int64_t seq = 0;       // the hospital's last change set applied after this entry
    bool suspect = false;  // the hospital's data may be incomplete (a gap is open)
    uint64_t checksum = 0; // of every reference row after this entry
    int64_t at_ms = 0;     // when the primary applied it
    std::vector<RecordChange> records;

    nlohmann::json to_json() const;
};

// An entry as the primary sent it. Errors: BadInput "stream.entry" naming the field.
Result<StreamEntry> parse_stream_entry(const nlohmann::json& j);

// Records as an entry's "records" array (read back by parse_change_records, change_set.h).
nlohmann::json records_to_json(const std::vector<RecordChange>& records);

std::string checksum_text(uint64_t checksum);  // 16 lowercase hex digits
Result<uint64_t> parse_checksum(const std::string& text);

}  // namespace hisgate::controlplane::public_partition
