// Where rollouts are kept (issue 16 item 5), so that a restarted control plane goes on
// with each rollout from where it was, and every instance sharing the store shows the same.
//
// This is the narrow interface the wave engine writes through; SQLite implements it
// (open_sqlite_rollout_store, on the control plane's results_db), and a shared database
// would implement the same for several instances.
//
// Invariant: save() is all-or-nothing. A rollout and all its targets are written in one
// transaction, so a reader (or a restart after a crash) sees a rollout either as it was
// before a change or after it, never a wave half-started.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/rollout/rollout.h"

namespace hisgate::controlplane::rollout {

inline constexpr int kMaxRolloutPage = 200;

class RolloutStore {
public:
    virtual ~RolloutStore() = default;
    // Writes `r` whole, its targets included (insert or replace by id), in one transaction.
    virtual Result<void> save(const Rollout& r) = 0;
    // Several at once, in one transaction (a new rollout and those it superseded).
    virtual Result<void> save_all(const std::vector<const Rollout*>& rs) = 0;
    virtual Result<std::optional<Rollout>> get(const std::string& id) = 0;
    // The newest first, at most `limit` (1..kMaxRolloutPage), without their targets.
    virtual Result<std::vector<Rollout>> list(int limit) = 0;
    // Every rollout not final (running or paused), with their targets, oldest first.
    virtual Result<std::vector<Rollout>> active() = 0;

    // The parameter files agents sent (params.get), by hospital, with the hash the file
    // has: the gate compares it with the hash the agent's birth advertises.
    virtual Result<void> put_params_file(const std::string& hospital_id, const std::string& params_hash,
                                         const nlohmann::json& file, int64_t now_ms) = 0;
    virtual Result<std::optional<nlohmann::json>> params_file(const std::string& hospital_id,
                                                              const std::string& params_hash) = 0;
};

// `path`: a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<RolloutStore>> open_sqlite_rollout_store(const std::string& path);

}  // namespace hisgate::controlplane::rollout
