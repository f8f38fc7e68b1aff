#include "common/utc_time.h"

#include <cstdio>
#include <ctime>

namespace hisgate {

std::string iso_utc(std::chrono::system_clock::time_point t, int fraction_digits) {
    using namespace std::chrono;
    bool micros = fraction_digits == 6;
    long long ticks = micros ? duration_cast<microseconds>(t.time_since_epoch()).count()
                             : duration_cast<milliseconds>(t.time_since_epoch()).count();
    long long per_second = micros ? 1000000 : 1000;
    std::time_t secs = static_cast<std::time_t>(ticks / per_second);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%0*lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros ? 6 : 3, ticks % per_second);
    return buf;
}

std::string utc_strftime(std::chrono::system_clock::time_point t, const char* format) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, format, &tm);
    return std::string(buf, n);
}

}  // namespace hisgate
