// The gateway's settings, read once from the hospital's parameters (vitals.*, catalog
// config-params/catalog/vitals.json). The catalog has checked types and ranges; this
// checks what it cannot: the code table's entries, a non-empty ward network list, and
// lost_after > stale_after.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ip_range.h"
#include "config-params/param_set.h"

namespace hisgate::vitals {

// The two result interfaces a monitor may speak (docs/monitor-sim.md defines both).
enum class Interface { Unsolicited, Realtime };
const char* to_string(Interface i);

// What one device observation code means.
struct CodeMeaning {
    bool info = false;  // a device status field: read, never stored
    std::string name;   // vital sign: "heart_rate"
    std::string unit;   // UCUM: "/min"
};

struct VitalsSettings {
    bool enabled = false;
    std::vector<IpRange> ward_networks;
    std::vector<std::string> ward_network_text;  // as written, for logs
    std::string discovery_bind = "0.0.0.0";
    uint16_t discovery_port = 4601;
    std::map<std::string, Interface> interfaces;  // model -> interface
    Interface default_interface = Interface::Unsolicited;
    std::map<std::string, CodeMeaning> codes;
    std::chrono::milliseconds stale_after{5000}, lost_after{15000};
    std::chrono::milliseconds backoff_min{500}, backoff_max{30000};
    std::size_t max_frame_bytes = 65536;
    std::chrono::milliseconds future_tolerance{120000};
    int64_t buffer_max_samples = 200000;
    int batch_max = 500;
    std::chrono::milliseconds retention{24 * 3600 * 1000};

    Interface interface_of(const std::string& model) const;
};

// Errors: Config "params.invalid", every problem named by its parameter.
Result<VitalsSettings> settings_from_params(const params::ParamSet& p);

}  // namespace hisgate::vitals
