// The extractor's state in the agent's state file, in its own tables (extraction_*):
// the last published reference data (the snapshot), the last change-set sequence number,
// and the change sets committed but not yet handed to the EventSink.
//
// Invariant: a change set's sequence number, its snapshot update and its pending copy are
// written in ONE transaction. So every committed change is in exactly one change set,
// sequence numbers are gap-free (a failed transaction allocates none), and a crash before
// the hand-off leaves the change set pending, to be handed over on the next start.
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

struct PendingChangeSet {
    int64_t seq = 0;
    std::string body;  // the change set's JSON, as handed to the sink
};

class SnapshotStore {
public:
    // Opens the state file and creates the extraction_* tables if needed.
    // Errors: Config "extraction.state_file" when it cannot be opened or written.
    static Result<SnapshotStore> open(const std::string& path);

    // Every department and doctor, and the slots dated within [from, to].
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
    // The sink holds it now: no longer pending.
    Result<void> handed_over(int64_t seq);

private:
    explicit SnapshotStore(sql::Db db) : db_(std::move(db)) {}
    Result<PendingChangeSet> commit_impl(const std::vector<Change>& changes,
                                         const std::function<std::string(int64_t)>& build);
    Result<void> apply(const Change& c);
    sql::Db db_;
};

}  // namespace hisgate::extraction
