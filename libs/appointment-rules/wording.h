// Small pieces of patient-facing wording shared by the rules, so every message writes
// money, durations and counts the same way.
#pragma once

#include <cstdint>
#include <string>

namespace hisgate::appointments {

// 2500 -> "25.00" (minor units, two decimals; the currency is the hospital's).
std::string money(int64_t minor_units);
// 90 -> "1 hour 30 minutes", 2880 -> "2 days", 1 -> "1 minute".
std::string duration_in_words(int minutes);
// (1, "appointment") -> "1 appointment", (3, "appointment") -> "3 appointments".
std::string count_of(int n, const std::string& noun);

}  // namespace hisgate::appointments
