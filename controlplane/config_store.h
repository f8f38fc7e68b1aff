// Every parameter set pushed to a hospital, and the fleet's feature flags (issue 16 items 7
// and 8; docs/config-push.md): the control plane's memory of remote configuration.
//
// A hospital's sets are numbered 1, 2, 3 ... in the order they were pushed; a version is
// never reused or changed, only its status moves on as the agent answers:
//   sent        handed to the router; no answer yet
//   queued      the agent holds it for its quiet window (standard mode)
//   applied     running at the agent, its path checks passed
//   refused     the agent's catalog, or the agent itself, would not take it (untouched)
//   reverted    applied, a path check failed, the agent went back by itself
//   superseded  a newer set was applied before this one's window came
//   failed      it never reached the agent (offline, unknown, timed out)
// Each carries who pushed it (the token's subject), when, its SHA-256, and the set itself.
//
// This is the interface; SQLite implements it (open_sqlite_config_store), a shared database
// would implement the same for several instances.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config-params/feature_flags.h"

namespace hisgate::controlplane {

struct ConfigRecord {
    std::string hospital_id;
    int64_t version = 0;       // assigned by add()
    std::string hash;          // SHA-256 of the set's canonical JSON (config-params/param_set.h)
    nlohmann::json params = nlohmann::json::object();
    std::string pushed_by;
    int64_t pushed_ms = 0;
    std::string mode;          // "now" | "standard"
    std::string status = "sent";
    nlohmann::json detail = nlohmann::json::object();  // the agent's answer: errors, failed checks
    int64_t updated_ms = 0;
    int64_t rollback_of = 0;   // the version this push restored, 0 for none

    // Without the set itself unless `with_params`.
    nlohmann::json to_json(bool with_params = false) const;
};

class ConfigStore {
public:
    virtual ~ConfigStore() = default;
    // Stores `record` as the hospital's next version and returns it with that version.
    virtual Result<ConfigRecord> add(ConfigRecord record) = 0;
    // NotFound "config.unknown_version" when there is no such version.
    virtual Result<void> set_status(const std::string& hospital_id, int64_t version, const std::string& status,
                                    const nlohmann::json& detail, int64_t at_ms) = 0;
    virtual Result<std::optional<ConfigRecord>> get(const std::string& hospital_id, int64_t version) = 0;
    // Newest first, at most `limit`.
    virtual Result<std::vector<ConfigRecord>> history(const std::string& hospital_id, int limit) = 0;

    virtual Result<void> put_flag(const params::FeatureFlag& flag) = 0;
    virtual Result<bool> remove_flag(const std::string& name) = 0;  // false: there was none
    virtual Result<params::FlagSet> flags() = 0;
};

// `path`: a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<ConfigStore>> open_sqlite_config_store(const std::string& path);

}  // namespace hisgate::controlplane
