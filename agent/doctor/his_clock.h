// The HIS's clock as its answers show it, compared with this server's. A HIS whose clock
// is off writes wrong times into reports, bookings and payments, and a time-window rule
// (same-day cut-off, release window) then decides on the wrong minute. How a dialect's
// answers carry the time is the adapter's business (HisAdapter::read_clock).
//
// MQTT 5 carries no clock, so the broker's is not compared.
#pragma once

#include <chrono>
#include <string>

#include "agent/doctor/finding.h"
#include "adapters/his_adapter.h"
#include "common/error.h"

namespace hisgate::agent::doctor {

constexpr std::chrono::seconds kSkewWarn{5}, kSkewFail{60};

// OK within kSkewWarn, WARN up to kSkewFail, FAIL beyond; WARN "not checked" when the
// clock could not be read (the his.* rows say why).
Finding judge_clock(const Result<HisClockReading>& reading);

}  // namespace hisgate::agent::doctor
