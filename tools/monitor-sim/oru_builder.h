// The HL7 v2 messages a simulated monitor sends, in either result interface
// (docs/monitor-sim.md defines both):
//
//   unsolicited  the documented ORU^R01 (HL7 2.3.1), shaped as the sample: PID with a
//                simulated patient, PV1-3 "^^<ward>&<bed no>&<ip as integer>&<port>&&1",
//                OBR-4 "<model> Monitor", one OBX per value with OBX-14 the observation time
//                (YYYYMMDDHHMMSS, UTC; YYYYMMDDHHMMSS.mmm for a monitor that stamps
//                milliseconds), and the device status codes 2301/2302/2308.
//   realtime     the older real-time result interface (HL7 2.3): MSH-9 "ORU^R01^RT", no PID
//                or PV1, the bed in OBR-2, the observation time in OBR-7 as Unix seconds,
//                OBX-3 the bare code and no OBX-11 / OBX-14.
//
// An alarm is an ORU^R01 of the same interface whose OBX-3 is "<code>^<text>^PHY"
// (physiological) or "^TEC" (technical), OBX-5 the text and OBX-8 the priority (H, M, L).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "monitor-sim/vital_values.h"

namespace hisgate::monitor_sim {

enum class Interface { Unsolicited, Realtime };
const char* to_string(Interface i);

struct MonitorIdentity {
    std::string device_id;  // "MON-0001"
    std::string model;      // announced; the gateway maps it to an interface
    std::string ward;       // "ICU"
    int bed_number = 1;
    std::string bed;        // "BED-001"
    Interface interface = Interface::Unsolicited;
    // HL7 times (MSH-7, OBR-7, OBX-14 of the unsolicited interface) with milliseconds, as
    // some devices send them; the vitals benchmark times the path to the ward feed by them.
    // The realtime interface's Unix seconds stay whole.
    bool stamps_milliseconds = false;
};

struct Alarm {
    std::string code;   // "1001"
    std::string text;   // "HR High"
    char priority = 'M';  // H, M, L
    bool technical = false;
};

// What the builders may be told to spoil, for the faults (monitor_faults.h).
struct Spoil {
    bool unknown_code = false;  // add an OBX with a code no table has (9999)
    bool non_numeric = false;   // heart rate "abc"
};

std::string build_result(const MonitorIdentity& who, int64_t control_id, std::chrono::system_clock::time_point at,
                         const std::vector<Observation>& values, uint16_t port, const Spoil& spoil = {});
std::string build_alarm(const MonitorIdentity& who, int64_t control_id, std::chrono::system_clock::time_point at,
                        const Alarm& alarm);

// The simulated alarms: physiological ones (high HR, low SpO2, ...) and technical ones
// (lead off, sensor off), chosen in turn by `n`.
Alarm physiological_alarm(int64_t n);
Alarm technical_alarm(int64_t n);

}  // namespace hisgate::monitor_sim
