// What the agent serves of its reference-data extraction when the control plane asks
// (issue 14): the change sets it kept, for a receiver that found a gap, and the whole
// snapshot, for one that must start over. The request handlers (agent/reference_requests.h)
// see the extraction only through this interface; the Extractor implements it.
//
// Both answers are read under the extractor's lock, so they never interleave with a
// change set being committed: a range holds whole change sets exactly as emitted, and a
// snapshot is exactly the state after change set `seq`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::extraction {

struct ChangeSetRange {
    std::string hospital;
    int64_t last_seq = 0;                    // the last seq allocated
    std::vector<nlohmann::json> changesets;  // consecutive seqs from the one asked for, as emitted
    bool complete = true;                    // false: cut at the size bound; ask again from the next seq
};

struct ReferenceSnapshot {
    std::string hospital;
    int64_t seq = 0;        // the last seq allocated: the snapshot is the state after it
    nlohmann::json records; // [{"entity", "key", "data"}], in (entity, key) order
};

class ReferenceHistory {
public:
    virtual ~ReferenceHistory() = default;
    // The kept change sets from_seq..min(to_seq, last seq), in order (1 <= from_seq <=
    // to_seq). Stops before their JSON would pass `max_bytes` in all; the first one alone
    // may take up to `max_first_bytes`, so a large change set is still served.
    // Errors: Rejected "reference.range_gone" when from_seq <= last seq is no longer kept
    // (the message names the oldest kept); Rejected "reference.changeset_too_large" when
    // the first alone passes max_first_bytes; Internal "extraction.storage".
    virtual Result<ChangeSetRange> changesets(int64_t from_seq, int64_t to_seq, size_t max_bytes,
                                              size_t max_first_bytes) = 0;
    // Every record of the snapshot. Errors: Rejected "reference.snapshot_too_large" when
    // the records' JSON passes `max_bytes`; Internal "extraction.storage".
    virtual Result<ReferenceSnapshot> snapshot(size_t max_bytes) = 0;
};

}  // namespace hisgate::extraction
