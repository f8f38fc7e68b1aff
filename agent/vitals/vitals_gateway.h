// The bedside-vitals gateway, as the agent sees it: started with the hospital's vitals
// settings, the agent's state file and its broker link; stopped before the link. The
// agent knows nothing else of monitors (discovery, connections, parsing, storage and
// forwarding are this folder's: docs/vitals.md).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "agent/vitals/vitals_settings.h"
#include "common/clock.h"
#include "common/error.h"

namespace hisgate {
class MqttLink;
}

namespace hisgate::vitals {

class VitalsGateway {
public:
    // Opens the vitals tables in `state_db`, starts forwarding through `link`, the monitor
    // connections and the discovery listener. Errors: Config "vitals.state_file",
    // Unavailable "vitals.discovery_bind"; nothing is left running after an error.
    static Result<std::unique_ptr<VitalsGateway>> start(VitalsSettings settings, const std::string& hospital_id,
                                                        const std::string& state_db, MqttLink& link, Clock& clock);
    ~VitalsGateway();
    // Stops discovery, then every connection, commits what was taken, stops forwarding.
    void stop();
    uint16_t discovery_port() const;

private:
    struct Parts;
    VitalsGateway() = default;
    std::unique_ptr<Parts> parts_;
};

}  // namespace hisgate::vitals
