#include "agent/doctor/his_clock.h"

#include <cstdio>

namespace hisgate::agent::doctor {

namespace {

std::string span_text(std::chrono::seconds s) {
    auto h = s.count() / 3600, m = (s.count() % 3600) / 60, sec = s.count() % 60;
    char buf[48];
    if (h > 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", (long long)h, (long long)m, (long long)sec);
    else if (m > 0) std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)m, (long long)sec);
    else std::snprintf(buf, sizeof buf, "%llds", (long long)sec);
    return buf;
}

}  // namespace

Finding judge_clock(const Result<HisClockReading>& reading) {
    const std::string check = "clock.his";
    if (!reading)
        return warn(check, "not checked: " + reading.error().describe(), "fix the his.* rows first, then run doctor again");
    // The HIS writes whole seconds: its clock was somewhere in [his, his + 1 s).
    auto skew = std::chrono::duration_cast<std::chrono::milliseconds>(reading->his + std::chrono::milliseconds(500) - reading->local);
    auto size = std::chrono::round<std::chrono::seconds>(skew < skew.zero() ? -skew : skew);
    std::string detail = "HIS clock " + (size.count() == 0 ? std::string("agrees with this server's")
                                                            : span_text(size) + (skew > skew.zero() ? " ahead of" : " behind") +
                                                                  " this server's") +
                         " (" + reading->source + ")";
    std::string fix = "synchronise both clocks by NTP (here: timedatectl set-ntp true; the HIS team for theirs)";
    // Whole half-hours off usually means the zone, not the clock.
    if (reading->zone_assumed && size >= std::chrono::minutes(29) && (size.count() + 60) % 1800 <= 120)
        fix += "; a difference of whole hours usually means his.timezone is not the zone the HIS writes its times in";
    if (size > kSkewFail) return fail(check, detail, fix);
    if (size > kSkewWarn) return warn(check, detail, fix);
    return ok(check, detail);
}

}  // namespace hisgate::agent::doctor
