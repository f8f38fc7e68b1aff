// What the gateway takes from a monitor: typed samples and alarms, as stored and forwarded.
// No patient identity: a sample belongs to a bed and a device (PID is never read).
#pragma once

#include <cstdint>
#include <string>

namespace hisgate::vitals {

struct VitalRecord {
    enum class Kind { Sample = 0, Alarm = 1 };
    Kind kind = Kind::Sample;
    std::string device;    // the announcing device id
    std::string bed;       // the bed the message names (else the announced one)
    std::string name;      // sample: vital sign ("heart_rate"); alarm: the device's alarm code
    std::string unit;      // sample only (UCUM)
    double value = 0;      // sample only
    std::string text;      // alarm only: what the device says ("HR High")
    char priority = 0;     // alarm only: 'H', 'M', 'L'
    bool technical = false;  // alarm only: a device problem (lead off), not the patient
    int64_t observed_ms = 0;  // the device's time (UTC)
    int64_t received_ms = 0;  // the agent's time
};

inline const char* priority_text(char p) { return p == 'H' ? "high" : p == 'M' ? "medium" : "low"; }

}  // namespace hisgate::vitals
