// A hospital's time zone, from the IANA tz database as compiled into TZif files.
//
// Why not <chrono>'s zones: libstdc++ 12 (Debian 12) has no std::chrono::locate_zone, and
// localtime_r under a swapped TZ variable is not thread-safe. So the zone's UTC offset
// history is read once from /usr/share/zoneinfo/<name> (RFC 8536, 64-bit section) and
// every later conversion is a pure lookup.
//
// Known limit: after the file's last transition the last offset holds. Debian's tzdata is
// built "fat" (explicit transitions to 2037), so this matters only for DST zones after 2037.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate {

// A default-constructed TimeZone is UTC.
class TimeZone {
public:
    // Reads <zoneinfo_dir>/<name>. Errors (class Config) say which name and why.
    static Result<TimeZone> load(const std::string& name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
    // Parses the bytes of a TZif file (versions 1 to 4).
    static Result<TimeZone> from_tzif(const std::string& name, std::string_view bytes);

    const std::string& name() const { return name_; }

    std::chrono::seconds offset_at(std::chrono::sys_seconds instant) const;
    std::chrono::local_seconds to_local(std::chrono::sys_seconds instant) const;

    // The instant a wall-clock time names. A time that occurs twice (clocks going back)
    // gives the earlier instant; a time skipped (clocks going forward) gives the instant
    // of the jump, the first moment the wall clock reads at least `local`.
    std::chrono::sys_seconds to_utc(std::chrono::local_seconds local) const;
    std::chrono::sys_seconds to_utc(std::chrono::year_month_day date, int minute_of_day) const;

private:
    struct Transition {
        std::chrono::sys_seconds at;
        std::chrono::seconds offset;  // UTC offset from `at` on
    };

    std::string name_;
    std::chrono::seconds initial_offset_{0};  // before the first transition
    std::vector<Transition> transitions_;     // sorted by `at`
};

// A time zone name as the parameters may write it: "UTC", "Asia/Shanghai"; letters,
// digits, '_', '+', '-' in '/'-separated parts, never "." or "..", so it stays inside
// the tz database directory.
bool is_valid_zone_name(std::string_view name);

}  // namespace hisgate
