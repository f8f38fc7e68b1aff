#include "common/time_zone.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace hisgate {

using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

Error zone_error(const std::string& name, const std::string& why) {
    return make_error(ErrorClass::Config, "config.bad_timezone", "time zone '" + name + "': " + why);
}

// Big-endian reader over the file's bytes; every read is bounds-checked by the caller
// through has().
struct Bytes {
    std::string_view data;
    size_t at = 0;

    bool has(size_t n) const { return data.size() - at >= n; }
    uint64_t unsigned_be(size_t width) {
        uint64_t v = 0;
        for (size_t i = 0; i < width; ++i) v = (v << 8) | uint8_t(data[at++]);
        return v;
    }
    int64_t signed_be(size_t width) {
        uint64_t v = unsigned_be(width);
        uint64_t sign = uint64_t(1) << (width * 8 - 1);
        return width == 8 ? int64_t(v) : int64_t(v ^ sign) - int64_t(sign);
    }
};

struct Header {
    char version = 0;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;

    size_t body_size(size_t time_width) const {
        return timecnt * time_width + timecnt + typecnt * 6 + charcnt + leapcnt * (time_width + 4) + isstdcnt +
               isutcnt;
    }
};

bool read_header(Bytes& b, Header& h) {
    if (!b.has(44) || b.data.substr(b.at, 4) != "TZif") return false;
    h.version = b.data[b.at + 4];
    b.at += 20;
    h.isutcnt = uint32_t(b.unsigned_be(4));
    h.isstdcnt = uint32_t(b.unsigned_be(4));
    h.leapcnt = uint32_t(b.unsigned_be(4));
    h.timecnt = uint32_t(b.unsigned_be(4));
    h.typecnt = uint32_t(b.unsigned_be(4));
    h.charcnt = uint32_t(b.unsigned_be(4));
    return h.typecnt > 0;
}

}  // namespace

bool is_valid_zone_name(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.back() == '/') return false;
    size_t part_start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '/') {
            if (i == part_start) return false;  // empty part: "a//b"
            part_start = i + 1;
            continue;
        }
        char c = name[i];
        bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '+' || c == '-';
        if (!allowed) return false;
    }
    return true;
}

Result<TimeZone> TimeZone::load(const std::string& name, const std::string& zoneinfo_dir) {
    if (!is_valid_zone_name(name)) return zone_error(name, "not a tz database name such as Asia/Shanghai");
    std::ifstream in(zoneinfo_dir + "/" + name, std::ios::binary);
    if (!in) return zone_error(name, "not found in " + zoneinfo_dir + " (is the tzdata package installed?)");
    std::stringstream bytes;
    bytes << in.rdbuf();
    return from_tzif(name, bytes.str());
}

Result<TimeZone> TimeZone::from_tzif(const std::string& name, std::string_view data) {
    Bytes b{data};
    Header h;
    if (!read_header(b, h)) return zone_error(name, "not a TZif file");
    size_t time_width = 4;
    if (h.version >= '2') {
        // Skip the 32-bit block: the 64-bit one after it covers the full range.
        if (!b.has(h.body_size(4))) return zone_error(name, "truncated TZif file");
        b.at += h.body_size(4);
        if (!read_header(b, h)) return zone_error(name, "bad second TZif header");
        time_width = 8;
    }
    if (!b.has(h.body_size(time_width))) return zone_error(name, "truncated TZif file");

    std::vector<int64_t> times(h.timecnt);
    for (auto& t : times) t = b.signed_be(time_width);
    std::vector<uint8_t> type_of(h.timecnt);
    for (auto& i : type_of) i = uint8_t(b.unsigned_be(1));
    std::vector<seconds> type_offset(h.typecnt);
    for (auto& o : type_offset) {
        o = seconds{b.signed_be(4)};
        b.at += 2;  // isdst, abbreviation index: not needed for offsets
    }

    TimeZone zone;
    zone.name_ = name;
    zone.initial_offset_ = type_offset[0];  // RFC 8536: type 0 applies before the first transition
    for (size_t i = 0; i < times.size(); ++i) {
        if (type_of[i] >= type_offset.size()) return zone_error(name, "transition names a missing type");
        if (i > 0 && times[i] <= times[i - 1]) return zone_error(name, "transitions out of order");
        zone.transitions_.push_back({sys_seconds{seconds{times[i]}}, type_offset[type_of[i]]});
    }
    return zone;
}

seconds TimeZone::offset_at(sys_seconds instant) const {
    auto after = std::upper_bound(transitions_.begin(), transitions_.end(), instant,
                                  [](sys_seconds t, const Transition& tr) { return t < tr.at; });
    return after == transitions_.begin() ? initial_offset_ : std::prev(after)->offset;
}

local_seconds TimeZone::to_local(sys_seconds instant) const {
    return local_seconds{instant.time_since_epoch() + offset_at(instant)};
}

sys_seconds TimeZone::to_utc(local_seconds local) const {
    // The offsets a day either side are the only candidates: real zones never change
    // offset twice within two days.
    const sys_seconds as_if_utc{local.time_since_epoch()};
    const seconds before = offset_at(as_if_utc - std::chrono::days{1});
    const seconds after = offset_at(as_if_utc + std::chrono::days{1});
    const sys_seconds earlier = as_if_utc - std::max(before, after);
    const sys_seconds later = as_if_utc - std::min(before, after);
    if (to_local(earlier) == local) return earlier;
    if (to_local(later) == local) return later;
    // Skipped by a jump forward: `earlier` is before the jump and `later` after it, so the
    // jump is the first transition after `earlier`.
    auto jump = std::upper_bound(transitions_.begin(), transitions_.end(), earlier,
                                 [](sys_seconds t, const Transition& tr) { return t < tr.at; });
    return jump == transitions_.end() ? later : jump->at;
}

sys_seconds TimeZone::to_utc(std::chrono::year_month_day date, int minute_of_day) const {
    return to_utc(local_seconds{std::chrono::sys_days{date}.time_since_epoch() + std::chrono::minutes{minute_of_day}});
}

}  // namespace hisgate
