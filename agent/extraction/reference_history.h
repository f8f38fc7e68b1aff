// What the agent serves of its reference-data extraction when the control plane asks
// (issue 14): the change sets it kept, for a receiver that found a gap, and the snapshot,
// page by page, for one that must start over. The request handlers
// (agent/reference_requests.h) see the extraction only through this interface; the
// Extractor implements it.
//
// Every answer is read under the extractor's lock, in one read transaction, so it never
// interleaves with a change set being committed: a range holds whole change sets exactly as
// emitted, and a snapshot page is exactly the state after change set `seq` for the keys it
// covers. Different pages may be read at different seqs (change sets are committed between
// them); the receiver closes that with the change sets in between (docs/public-partition.md,
// "Paged snapshots").
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
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

// A record's place in the snapshot's order, (entity, key) compared bytewise: where a page
// ends and the next begins.
struct SnapshotCursor {
    std::string entity;
    std::string key;
};

struct ReferenceSnapshot {
    std::string hospital;
    int64_t seq = 0;        // the last seq allocated when read: the records are the state after it
    nlohmann::json records; // [{"entity", "key", "data"}], in (entity, key) order
    bool done = true;       // false: more records follow `last`
    std::optional<SnapshotCursor> last;  // the last record's place (none when `records` is empty)
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
    // One page of the snapshot: the records strictly after `after` (from the first when
    // none), in (entity, key) order, until their JSON would pass `max_bytes`. The first
    // record alone may take up to `max_first_bytes`, so a record bigger than the page still
    // goes out, alone, and every page but the last holds at least one record: a reader
    // following `last` always moves forward. Errors: Rejected "reference.record_too_large"
    // when the first alone passes max_first_bytes; Internal "extraction.storage".
    virtual Result<ReferenceSnapshot> snapshot_page(const std::optional<SnapshotCursor>& after, size_t max_bytes,
                                                    size_t max_first_bytes) = 0;

    // The whole snapshot as one page. Errors: Rejected "reference.snapshot_too_large" when
    // the records' JSON passes `max_bytes`; those of snapshot_page.
    Result<ReferenceSnapshot> snapshot(size_t max_bytes) {
        auto page = snapshot_page(std::nullopt, max_bytes, max_bytes);
        if (page && !page->done)
            return make_error(ErrorClass::Rejected, "reference.snapshot_too_large",
                              "the snapshot passes the " + std::to_string(max_bytes) +
                                  " bytes one answer may carry; ask for it in pages (body.max_bytes, body.after)");
        return page;
    }
};

}  // namespace hisgate::extraction
