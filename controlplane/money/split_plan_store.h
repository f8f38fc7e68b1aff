// The partition splits an operator started (docs/ledger.md, "Live partition split"), kept
// in the ledger directory beside the partition map (<dir>/partition-map.db, table
// split_plans), so a control plane killed mid-split finds the plan at its next start and
// makes the files agree with the map (ledger::recover_split), and a switched split can
// still be rolled back after a restart (PartitionSplit::attach_switched takes the plan).
//
// A plan is stored before its split starts and its state follows it:
//   running → switched | aborted;  switched → rolled_back | done (a later split started:
//   the map moved on, so this one no longer rolls back).
// Invariant: at most one plan is running or switched; it is the newest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sqlite.h"
#include "controlplane/ledger/partition_split.h"

namespace hisgate::controlplane::money {

struct StoredSplit {
    int64_t id = 0;
    ledger::SplitPlan plan;
    std::string state;       // running, switched, aborted, rolled_back, done
    nlohmann::json progress; // the last SplitProgress::to_json() recorded ({} until then)
};

class SplitPlanStore {
public:
    static Result<SplitPlanStore> open(const std::string& path);

    // Stores `plan` as running; any earlier switched plan becomes done.
    Result<int64_t> add(const ledger::SplitPlan& plan, int64_t now_ms);
    Result<void> set_state(int64_t id, const std::string& state, const nlohmann::json& progress, int64_t now_ms);
    // The newest plan, if any.
    Result<std::optional<StoredSplit>> latest();

    static nlohmann::json plan_json(const ledger::SplitPlan& plan);
    static Result<ledger::SplitPlan> plan_of(const nlohmann::json& j);

private:
    explicit SplitPlanStore(sql::Db db) : db_(std::move(db)) {}
    sql::Db db_;
};

}  // namespace hisgate::controlplane::money
