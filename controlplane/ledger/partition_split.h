// The live partition split (docs/ledger.md, "Live partition split"; issue 15 item 7): one
// partition's ledger (`south`) becomes several (`south-a`, `south-b`), each taking a set of
// the source's provinces, while writers go on writing to the source until the switch.
//
// The steps, each a call the control plane drives from one thread (nothing here owns a
// thread or sleeps; time is the injected clock):
//
//   start()        checks the plan against the current map, creates the target files
//                  (refused if one exists) and copies everything the source holds.
//   catch_up()     streams what the source appended since: its entries are append-only, so
//                  the entry's seq is the cursor; each round reads one snapshot of the
//                  source (the entries after the cursor and the current rows of the
//                  transactions they touch, which match exactly, since every change writes
//                  its row and its entry in one transaction) and writes each target in one
//                  transaction with its cursor. Fences (cancels of unknown ids) go to every
//                  target: a fence only refuses a create, and a create goes to one target.
//   verify()       catches up and compares, in that same snapshot, the source (restricted to
//                  each target's provinces) with each target: entry and fence counts, an
//                  ordered checksum of the entries (FNV-1a in seq order, folded
//                  incrementally, so a late verify reads only what is new) and the balance
//                  per state (count and sum of amounts, a full scan of both sides). After a
//                  verification that matched, the next one compares instead each row the
//                  entries since then touched with its copy, whole (equal rows since equal
//                  balances give equal balances): that is what keeps the one inside the
//                  freeze short. It answers the source seq and the freeze it was made in.
//   check_reverse() proves the way back before the way forward is taken: the pre-split map
//                  can still be republished on the current epoch, and the reverse stream
//                  (targets → source) runs on the real files (empty, as nothing was written
//                  to the targets yet).
//   freeze()       takes the source file's write lock (BEGIN IMMEDIATE on the split's own
//                  connection): every writer, of this process or another, waits on SQLite's
//                  lock, so no change is lost or reordered and nothing else is needed to
//                  stop them. This process's writers are first held back at their store
//                  (SplitOptions::hold_writers), so they cannot starve the lock's polling. The freeze is bounded (plan.max_freeze, default 30 s): every
//                  step while frozen checks the clock, and past the bound the split aborts
//                  and rolls back by itself (split.freeze_timeout), removing the targets.
//   switch_over(v) with a verification made in this freeze at the frozen seq (an older one
//                  is refused: split.stale_verification): checks the reverse path, records
//                  the switch point in each target, writes the source's fence in the held
//                  transaction, publishes the new map (epoch + 1: reads switch, as routing
//                  now names the targets, which are complete and verified), then commits
//                  the fence and releases the lock (writes switch: the waiting writers'
//                  batches are refused with ledger.partition_moved and re-route by the map).
//   freeze_and_switch()  verify (full, outside the freeze), verify again (what came during
//                  the full one), freeze, verify (what came since), switch_over, in one call:
//                  what to use.
//   abort()        before the switch: releases the freeze, removes the target files.
//   rollback()     after the switch: freezes the targets and the source, streams back every
//                  change the targets took since the switch point, unfences the source,
//                  fences the targets, republishes the pre-split assignments (a new epoch).
//   attach_switched()  takes up a split that switched in an earlier process (the same plan):
//                  the switch points and the pre-split epoch are in the targets' files, so
//                  rollback() works after a restart.
//
// Invariants:
//  - A transaction is owned by exactly one partition at every instant: the source until the
//    map names the targets, then the one target of its province; copies are not owners.
//    The source cannot change between the last catch-up and the publish (it is frozen),
//    and after the publish it refuses every change (fenced, durable in its own file).
//  - The map is published only with every target complete and verified at the frozen seq;
//    a failure at any step before it leaves the old map, the source authoritative and
//    unfenced, and no target file (each failure cleans up after itself). A kill -9 at any
//    instant leaves either the old map (target files may remain: recover_split removes
//    them) or the new map with complete targets (recover_split fences the source if the
//    kill came between the publish and the fence's commit; no writer could write to the
//    source in that gap, as the split held its lock).
//  - An IN_DOUBT transaction moves with its probe schedule (probes sent, next probe time):
//    a Confirmer on the target resumes it from the copied row (Confirmer::resume); the
//    source's confirmer must be dropped at the switch (its changes would be refused).
//  - Transactions are routed by the province they were created with
//    (TransactionIntent::province); a source row without one refuses the copy
//    (split.unroutable) instead of guessing.
//
// Not thread-safe between steps: one thread drives a split. progress() may be read from any
// thread at any time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"

namespace hisgate::ledger {

struct SplitTarget {
    std::string partition;             // "south-a": a new partition name
    std::set<std::string> provinces;   // the source's provinces it takes
    std::string path;                  // its ledger file, which must not exist yet
};

struct SplitPlan {
    std::string source;                // "south"
    std::string source_path;           // its ledger file
    std::vector<SplitTarget> targets;  // together exactly the source's provinces, each once
    std::chrono::milliseconds max_freeze{std::chrono::seconds(30)};  // writes frozen at most this long
    bool durable = true;               // synchronous=FULL on the files the split writes (false: the simulation)

    // Against the current map: the source is one of its partitions; the targets' names are
    // new, distinct and well-formed, their paths distinct; their provinces are exactly the
    // source's, each in one target.
    Result<void> check(const PartitionMap& current) const;
    // The map after the split: `current` with each of the source's provinces given to its target.
    std::map<std::string, std::string> assignments_after(const PartitionMap& current) const;
};

enum class SplitPhase { Planned, Copying, Frozen, Switched, Aborted, RolledBack };
std::string_view to_string(SplitPhase p);  // "planned", "copying", ...

// One target compared with the source restricted to its provinces.
struct TargetCheck {
    std::string partition;
    int64_t transactions = 0, entries = 0, fences = 0;  // found in the target
    uint64_t checksum = 0;                              // ordered, of the target's entries
    std::map<std::string, std::pair<int64_t, int64_t>> balances;  // state → (count, sum of amount_fen)
    bool matches = false;
};

struct Verification {
    int64_t source_seq = 0;   // the source's last entry, up to which the targets were compared
    int64_t freeze = 0;       // the freeze it was made in (0: not frozen); switch_over needs the current one
    int64_t at_ms = 0;
    bool ok = false;
    bool balances_scanned = false;  // false: the rows changed since the last matching verification were compared instead
    std::string mismatch;     // the first difference found, when !ok
    std::vector<TargetCheck> targets;
};

// For an operator (and `hisgate partition split` status): where the split is.
struct SplitProgress {
    SplitPhase phase = SplitPhase::Planned;
    std::string step;               // the last step done: "started", "caught_up", "frozen", "verified", "published", ...
    std::string source;
    std::vector<std::string> targets;
    int64_t from_epoch = 0, to_epoch = 0;   // the map's epoch before, and after the switch (0 until then)
    int64_t source_seq = 0;         // the source's last entry when last read
    int64_t copied_seq = 0;         // the cursor: every source entry up to it is in the targets
    int64_t entries_copied = 0, rows_copied = 0, rounds = 0;
    int64_t freeze_ms = -1;         // the source's write freeze of the switch, measured (steady clock)
    int64_t rollback_freeze_ms = -1;
    int64_t streamed_back = 0;      // entries a rollback streamed back to the source
    std::string error;              // why it aborted, or the last refused step
    nlohmann::json to_json() const;
};

struct SplitOptions {
    // Called on the driving thread after each step (and each step inside freeze_and_switch),
    // with the progress: an operator's view, a test's hook.
    std::function<void(const SplitProgress&)> on_step;
    // The writers of this process to the named partitions, held back (LedgerStore::
    // hold_writes) while the split locks their files and until it lets them go: called once
    // per freeze, with every partition it is about to lock, before it locks any. Without
    // it the lock is won by SQLite's polling, which writers committing back to back can
    // keep out past the busy timeout; other processes' writers still wait on the lock.
    std::function<std::vector<std::unique_ptr<WriteHold>>(const std::vector<std::string>& partitions)> hold_writers;
};

struct SwitchReport {
    int64_t epoch = 0;        // the new map's
    int64_t freeze_ms = 0;    // writes to the source frozen this long (steady clock)
    Verification verification;
};

class PartitionSplit {
public:
    PartitionSplit(SplitPlan plan, PartitionMapStore& maps, Clock& clock, SplitOptions options = {});
    // An unfinished split (started, not switched) is aborted: its target files are removed.
    ~PartitionSplit();
    PartitionSplit(const PartitionSplit&) = delete;
    PartitionSplit& operator=(const PartitionSplit&) = delete;

    Result<void> start();
    Result<int64_t> catch_up();   // entries copied by this round
    Result<Verification> verify();
    Result<void> check_reverse();
    Result<void> freeze();
    Result<SwitchReport> switch_over(const Verification& v);
    Result<SwitchReport> freeze_and_switch();
    Result<void> abort(const std::string& reason);
    Result<void> rollback();
    // Planned → Switched for a split this plan made earlier: refused unless the current map
    // names the targets (split.not_switched) and each target records its switch point.
    Result<void> attach_switched();

    SplitProgress progress() const;
    const SplitPlan& plan() const { return plan_; }

private:
    struct Target;
    struct Changes;
    Result<int64_t> catch_up_in_snapshot();
    Result<Verification> verify_in_snapshot();
    Result<void> check_reverse_in_snapshot();
    template <class Fn>
    auto in_source_snapshot(Fn&& fn) -> decltype(fn());
    Result<void> within_freeze(const char* step);
    void hold_writers(const std::vector<std::string>& partitions);
    Error fail(Error e);  // aborts (cleaning up) unless switched; returns e
    void cleanup_targets();
    void step(const std::string& name);
    int64_t now_ms() const { return clock_.wall_ms(); }

    SplitPlan plan_;
    PartitionMapStore& maps_;
    Clock& clock_;
    SplitOptions options_;
    std::optional<sql::Db> source_;
    std::vector<std::unique_ptr<Target>> targets_;
    std::map<std::string, size_t> target_of_province_;
    PartitionMap before_;            // the map the split started on
    int64_t cursor_ = 0;             // source seq copied up to
    int64_t freeze_ = 0;             // the current freeze's number (0: not frozen)
    int64_t freezes_ = 0;
    int64_t frozen_seq_ = 0;
    Clock::SteadyTime frozen_at_{};
    std::vector<std::unique_ptr<WriteHold>> holds_;  // this process's writers, held while frozen
    int64_t verified_source_seq_ = 0;  // the source's entries folded into the checksums so far
    int64_t matched_seq_ = 0;          // the seq of the last verification that matched (0: none)
    mutable std::mutex progress_mu_;
    SplitProgress progress_;
};

// After a restart (the process died mid-split): makes the files agree with the map. The
// map names the targets → the split happened: the source is fenced (if the kill came
// before its fence committed) and the targets unfenced. The map names the source and no
// earlier epoch named the targets → the split never switched: the target files are removed.
// The map names the source after an epoch that named the targets → a rollback: the targets
// are fenced and kept. Answers "switched", "aborted" or "rolled_back".
Result<std::string> recover_split(const SplitPlan& plan, PartitionMapStore& maps);

// Removes a ledger file and its WAL and shared-memory files; absent ones are fine.
void remove_ledger_file(const std::string& path);

}  // namespace hisgate::ledger
