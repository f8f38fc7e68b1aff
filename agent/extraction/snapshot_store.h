// The extractor's state in the agent's state file, in its own tables (extraction_*):
// the last published reference data (the snapshot), the last change-set sequence number,
// and the change sets themselves: those committed but not yet handed to the EventSink
// (pending), and the latest handed-over ones, kept so a receiver that missed some can ask
// for them again (reference.changesets, docs/extraction.md "Resends").
//
// Invariants:
//  - A change set's sequence number, its snapshot update and its stored (pending) copy are
//    written in ONE transaction. So every committed change is in exactly one change set,
//    sequence numbers are gap-free (a failed transaction allocates none), and a crash
//    before the hand-off leaves the change set pending, to be handed over on the next start.
//  - handed_over() only marks a change set; the kept ones are those whose seq is within
//    the last `history_keep` allocated, and a pending change set is never pruned. So the
//    kept change sets are always one unbroken run of seqs ending at last_seq (or none).
// Not thread-safe: the extractor serialises every call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/extraction/pull_diff.h"
#include "common/sqlite.h"

namespace hisgate::extraction {

struct StoredChangeSet {
    int64_t seq = 0;
    std::string body;  // the change set's JSON, as handed to the sink
};
using PendingChangeSet = StoredChangeSet;

class SnapshotStore {
public:
    static constexpr int64_t kDefaultHistoryKeep = 1000;  // extraction.history_keep

    // Opens the state file and creates the extraction_* tables if needed (moving the
    // pending change sets of a state file written before the history was kept).
    // `history_keep` (>= 1): how many of the latest change sets are kept for resends.
    // Errors: Config "extraction.state_file" when it cannot be opened or written.
    static Result<SnapshotStore> open(const std::string& path, int64_t history_keep = kDefaultHistoryKeep);

    // Every hospital, department and doctor, and the slots dated within [from, to].
    Result<std::map<RecordKey, Record>> in_scope(const std::string& from_date, const std::string& to_date);
    Result<std::optional<Record>> find(const std::string& entity, const std::string& key);
    Result<int64_t> last_seq();

    // In one transaction: applies `changes` to the snapshot, takes the next sequence number,
    // and stores the change set built by `build(seq)` as pending. Returns it.
    template <class Build>
    Result<PendingChangeSet> commit(const std::vector<Change>& changes, Build build) {
        return commit_impl(changes, [&](int64_t seq) { return nlohmann::json(build(seq)).dump(); });
    }
    // Pending change sets in sequence order.
    Result<std::vector<PendingChangeSet>> pending();
    // The sink holds it now: no longer pending. In the same transaction, the handed-over
    // change sets older than the last `history_keep` seqs are deleted.
    Result<void> handed_over(int64_t seq);

    // The oldest change set still kept (handed over or pending); nullopt when none is.
    Result<std::optional<int64_t>> oldest_kept();
    // Calls `each(seq, body)` for the kept change sets with from <= seq <= to, in seq
    // order, until it returns false.
    Result<void> for_each_changeset(int64_t from_seq, int64_t to_seq,
                                    const std::function<bool(int64_t, const std::string&)>& each);
    // In one read transaction: calls `each` for the snapshot's records strictly after
    // `after` (from the first when none), in (entity, key) order, until it returns false,
    // and returns the last seq allocated, the change set those records are the state after.
    Result<int64_t> read_records(const std::optional<RecordKey>& after, const std::function<bool(Record&&)>& each);

private:
    SnapshotStore(sql::Db db, int64_t history_keep) : db_(std::move(db)), history_keep_(history_keep) {}
    Result<PendingChangeSet> commit_impl(const std::vector<Change>& changes,
                                         const std::function<std::string(int64_t)>& build);
    Result<void> apply(const Change& c);
    sql::Db db_;
    int64_t history_keep_;
};

}  // namespace hisgate::extraction
