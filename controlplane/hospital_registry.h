// Which hospitals exist and whether their agents are online, as their retained birth and
// last-will messages on hisgate/v1/hospitals/<hid>/state say.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "transport/mqtt_link.h"

namespace hisgate::controlplane {

struct HospitalState {
    std::string hospital_id;
    bool online = false;
    nlohmann::json birth;  // the agent's own description: version, protocol, adapter, ...
    std::string updated_at;
};

class HospitalRegistry {
public:
    // Applies a state message. A message whose envelope names another hospital than its
    // topic, or that cannot be read, is rejected (logged, returned) and changes nothing.
    Result<void> apply_state(const IncomingMessage& msg);

    std::optional<HospitalState> find(const std::string& hospital_id) const;
    std::vector<HospitalState> online() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, HospitalState> hospitals_;
};

}  // namespace hisgate::controlplane
