// A monitor's MLLP payload -> typed samples and alarms (vital_record.h), in either result
// interface (docs/monitor-sim.md):
//
//   unsolicited  ORU^R01: the bed from OBX 2308 (BedNoStr) or else PV1-3-3-1/2; each OBX's
//                time from OBX-14, else OBR-7, else MSH-7 (YYYYMMDDHHMMSS[.ffff], UTC)
//   realtime     ORU^R01^RT: the bed from OBR-2, the time from OBR-7 in Unix seconds
//
// In both, an OBX whose OBX-3-3 is PHY or TEC is an alarm (OBX-8 H/M/L its priority);
// any other OBX is an observation whose code (OBX-3-1) the code table names.
//
// What cannot be used is dropped with its reason, never guessed at:
//  - the whole message (an error): not HL7 ("not_hl7"), not an ORU^R01 ("not_a_result"),
//    no bed to file it under ("no_bed");
//  - one observation (ParsedResult::drops): an unknown code ("unknown_code"), a value
//    that is not a finite number ("non_numeric"), a time later than now + tolerance
//    ("future_timestamp"), an alarm without a valid priority ("bad_alarm").
// PID is never read, so no patient identity reaches the records or the logs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/vitals/vital_record.h"
#include "agent/vitals/vitals_settings.h"
#include "common/error.h"

namespace hisgate::vitals {

struct ParseContext {
    Interface interface = Interface::Unsolicited;
    const std::map<std::string, CodeMeaning>* codes = nullptr;
    std::string device;       // the connection's device (announced)
    std::string bed;          // the announced bed: used when the message names none
    int64_t now_ms = 0;       // the agent's wall clock
    int64_t future_tolerance_ms = 120000;
};

struct ParsedResult {
    std::string control_id;  // MSH-10 (duplicates are recognised by it)
    std::vector<VitalRecord> records;
    std::map<std::string, int64_t> drops;  // reason -> observations dropped
};

// Errors: BadInput with code "vitals.<reason>" (not_hl7, not_a_result, no_bed).
Result<ParsedResult> parse_result(std::string_view payload, const ParseContext& ctx);

// An HL7 TS (YYYYMMDD[HH[MM[SS[.f+]]]], an offset ignored: monitors send UTC) in ms since
// the epoch; nullopt if malformed.
std::optional<int64_t> parse_hl7_time(std::string_view ts);

}  // namespace hisgate::vitals
