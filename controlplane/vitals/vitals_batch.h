// What an agent's vitals gateway sends up (docs/vitals.md, "Forwarding"), read within
// bounds: the `vitals.batch` body (samples and alarms, each with the agent's seq) and the
// `vitals.monitors` body (each monitor's state). Nothing here trusts the sender: every
// field is checked for shape and length, numbers for range, and the counts are capped,
// before anything is stored; the first bad field is named in a BadInput error
// (vitals.bad_batch / vitals.bad_monitors) and the whole message is refused.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "transport/vitals_limits.h"

namespace hisgate::controlplane::vitals {

inline constexpr std::size_t kMaxBatchRecords = limits::kVitalsBatchRecords;  // the agent sends at most this many
inline constexpr std::size_t kMaxMonitorsPerReport = 5000;
inline constexpr std::size_t kMaxNameBytes = 64;        // device, bed, ward, sign names, units, codes
inline constexpr std::size_t kMaxAlarmTextBytes = 256;

// A device's alarm priority, as the device gave it. Never lowered on the way (issue 18).
enum class Priority { Low = 0, Medium = 1, High = 2 };
const char* priority_name(Priority p);

struct VitalSample {
    int64_t seq = 0;  // the agent's, increasing in the order it took them
    std::string device, bed, name, unit;
    double value = 0;
    int64_t observed_ms = 0, received_ms = 0;
};

struct VitalAlarm {
    int64_t seq = 0;
    std::string device, bed, code, text;
    Priority priority = Priority::Low;
    bool technical = false;  // a device problem (lead off), not the patient's
    int64_t observed_ms = 0, received_ms = 0;
};

struct VitalsBatch {
    std::vector<VitalSample> samples;  // in seq order as sent
    std::vector<VitalAlarm> alarms;
    int64_t thinned_since_last = 0;    // routine samples the agent dropped while offline
};

struct MonitorReport {
    std::string device, model, ward, bed, interface, state;  // state: connected, stale, lost, ...
    int64_t last_sample_ms = 0;                              // the agent's clock; 0 = never
};

Result<VitalsBatch> parse_vitals_batch(const nlohmann::json& body);
Result<std::vector<MonitorReport>> parse_monitor_report(const nlohmann::json& body);

}  // namespace hisgate::controlplane::vitals
