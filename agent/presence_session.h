// The agent's liveness session counter (Sparkplug's bdSeq): every MQTT connection of the
// agent gets a new, larger value, carried in that connection's birth, heartbeats and last
// will, so the control plane tells a late will of an old connection from the end of the
// current one (controlplane/hospital_registry.h). Kept in the agent's state file, so the
// value only grows, across restarts too.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"
#include "common/sqlite.h"

namespace hisgate::agent {

class PresenceSessions {
public:
    // Opens (creates) the presence_session table in `state_file`.
    static Result<std::unique_ptr<PresenceSessions>> open(const std::string& state_file);
    // Makes the next session durable and returns it (1 for the first ever).
    Result<int64_t> next();

private:
    explicit PresenceSessions(sql::Db db) : db_(std::move(db)) {}
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace hisgate::agent
