// Faults a simulated monitor takes on command (the control API, docs/monitor-sim.md).
// One-shot faults are queued and applied by the monitor's sender at its next step; the
// lasting ones (clock skew, stall) change its state until cleared.
//
//   {"kind": "disconnect"}                   close the gateway's connection (keep listening)
//   {"kind": "stall"}                        keep the connection open, send nothing on it
//                                            (a new connection from the gateway is served again)
//   {"kind": "garbage", "bytes": 200}        bytes outside any frame, then a frame that is not HL7
//   {"kind": "endless_frame"}                a start block and payload that never ends, until the
//                                            gateway closes the connection
//   {"kind": "duplicate"}                    send the next result twice (same MSH-10)
//   {"kind": "out_of_order"}                 send the next two results in reverse order
//   {"kind": "clock_skew", "seconds": 600}   stamp results this far from the true time (0 clears)
//   {"kind": "reboot", "down_ms": 1000}      drop connection and listener, stay down, come back on a
//                                            new port and announce it at once
//   {"kind": "unknown_code"}                 the next result carries an OBX with code 9999
//   {"kind": "non_numeric"}                  the next result's heart rate is "abc"
//   {"kind": "alarm", "priority": "H", "technical": false}   send an alarm now
//   {"kind": "flood", "messages": 500}       send this many results at once, as fast as possible
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::monitor_sim {

struct FaultCommand {
    enum class Kind { Disconnect, Stall, Garbage, EndlessFrame, Duplicate, OutOfOrder, ClockSkew, Reboot, UnknownCode,
                      NonNumeric, Alarm, Flood };
    Kind kind = Kind::Disconnect;
    int64_t amount = 0;     // garbage bytes, skew seconds, reboot down_ms, flood messages
    char priority = 'M';    // alarm
    bool technical = false; // alarm

    // Errors: BadInput "faults.invalid" naming the field.
    static Result<FaultCommand> from_json(const nlohmann::json& j);
};

}  // namespace hisgate::monitor_sim
