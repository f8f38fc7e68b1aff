// The HIS's clock as its answers show it, compared with this server's. A HIS whose clock
// is off writes wrong times into reports, bookings and payments, and a time-window rule
// (same-day cut-off, release window) then decides on the wrong minute.
//
//   hl7v2-mllp       MSH-7 of the answer to a payment status query for a made-up order
//                    (read-only); a time without an offset is read in his.timezone
//                    (else hospital.timezone), as the adapter reads the HIS's times
//   rest-json, soap  the HTTP Date header of the answer to a GET of his.endpoint (any
//                    status: only the header is read)
//
// MQTT 5 carries no clock, so the broker's is not compared.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "agent/doctor/finding.h"
#include "common/time_zone.h"
#include "common/error.h"
#include "config-params/param_set.h"

namespace hisgate::agent::doctor {

struct ClockReading {
    std::chrono::system_clock::time_point his;    // what the HIS wrote, to the second
    std::chrono::system_clock::time_point local;  // this clock halfway through the exchange
    std::string source;                           // where `his` came from, for the detail
    bool zone_assumed = false;                    // `his` had no offset: read in his.timezone
};

Result<ClockReading> read_his_clock(const params::ParamSet& p);

// An HL7 DTM "YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]"; without an offset, a wall-clock time in
// `zone`. Sets *had_offset. Protocol error for anything else.
Result<std::chrono::sys_seconds> parse_hl7_time(std::string_view ts, const TimeZone& zone, bool* had_offset);

constexpr std::chrono::seconds kSkewWarn{5}, kSkewFail{60};

// OK within kSkewWarn, WARN up to kSkewFail, FAIL beyond; WARN "not checked" when the
// clock could not be read (the his.* rows say why).
Finding judge_clock(const Result<ClockReading>& reading);

}  // namespace hisgate::agent::doctor
