#include "appointment-rules/wording.h"

#include <cstdio>

namespace hisgate::appointments {

std::string money(int64_t minor_units) {
    char buf[32];
    const char* sign = minor_units < 0 ? "-" : "";
    uint64_t magnitude = minor_units < 0 ? uint64_t(0) - uint64_t(minor_units) : uint64_t(minor_units);
    std::snprintf(buf, sizeof buf, "%s%llu.%02llu", sign, (unsigned long long)(magnitude / 100),
                  (unsigned long long)(magnitude % 100));
    return buf;
}

std::string count_of(int n, const std::string& noun) { return std::to_string(n) + " " + noun + (n == 1 ? "" : "s"); }

std::string duration_in_words(int minutes) {
    constexpr int per_day = 24 * 60;
    if (minutes > 0 && minutes % per_day == 0) return count_of(minutes / per_day, "day");
    std::string words;
    if (minutes >= 60) words = count_of(minutes / 60, "hour");
    if (minutes % 60 != 0 || minutes == 0) words += (words.empty() ? "" : " ") + count_of(minutes % 60, "minute");
    return words;
}

}  // namespace hisgate::appointments
