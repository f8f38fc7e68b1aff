// Values as HIS interfaces write them (HL7-style codes and timestamps, numbers as text),
// read into the platform's terms. Shared by every dialect.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/his_adapter.h"
#include "common/error.h"
#include "common/time_zone.h"

namespace hisgate {

// (A report's status and issued time: hl7/report_values.h, shared with the control plane.)
std::optional<int> whole_number(std::string_view text);
// An HL7 DTM "YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]" as an instant; without an offset, a
// wall-clock time in `zone`. Sets *had_offset. Protocol "his.unreadable_time" otherwise.
Result<std::chrono::sys_seconds> hl7_instant(std::string_view ts, const TimeZone& zone, bool* had_offset);
// Protocol "his.unreadable_answer": the HIS answered something we cannot read.
Error unreadable_answer(const std::string& what, const std::string& detail);
// Protocol "his.mismatched_answer": the answer echoes another `field` than the request
// asked for (a stale copy of an earlier answer, or one meant for someone else). The
// values stay out of the message: they may be patient ids.
Error mismatched_answer(const std::string& what, const std::string& field);
// `slot` with its capacity, booked count and fee (a decimal) read from text.
Result<ScheduleSlot> slot_with_numbers(ScheduleSlot slot, std::string_view capacity, std::string_view booked,
                                       std::string_view fee_decimal);

}  // namespace hisgate
