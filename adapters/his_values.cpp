#include "adapters/his_values.h"

#include <cctype>
#include <charconv>
#include <optional>

#include "adapters/money.h"

namespace hisgate {

namespace {
int digits(std::string_view s, size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
}
}  // namespace

std::string report_status_name(const std::string& code) {
    return code == "F" ? "final" : code == "P" ? "preliminary" : code == "C" ? "corrected" : code;
}

std::string iso_timestamp(const std::string& ts) {
    // HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. Every precision is legal.
    std::string_view v(ts);
    std::string_view zone;
    if (auto z = v.find_first_of("+-"); z != std::string_view::npos) {
        zone = v.substr(z);
        v = v.substr(0, z);
    }
    std::string_view fraction;
    if (auto dot = v.find('.'); dot != std::string_view::npos) {
        fraction = v.substr(dot);
        v = v.substr(0, dot);
    }
    auto digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; };
    bool whole = digits(v) && (v.size() == 4 || v.size() == 6 || v.size() == 8 || v.size() == 10 || v.size() == 12 ||
                               v.size() == 14);
    bool good_fraction = fraction.empty() || (v.size() == 14 && fraction.size() <= 5 && digits(fraction.substr(1)));
    bool good_zone = zone.empty() || (zone.size() == 5 && digits(zone.substr(1)));
    if (!whole || !good_fraction || !good_zone) return ts;
    std::string out(v.substr(0, 4));
    if (v.size() >= 6) out += "-" + std::string(v.substr(4, 2));
    if (v.size() >= 8) out += "-" + std::string(v.substr(6, 2));
    if (v.size() >= 10) out += "T" + std::string(v.substr(8, 2)) + ":" + (v.size() >= 12 ? std::string(v.substr(10, 2)) : "00");
    if (v.size() >= 14) out += ":" + std::string(v.substr(12, 2)) + std::string(fraction);
    // An offset belongs to a time of day; on a bare date it says nothing.
    if (!zone.empty() && v.size() >= 10) out += std::string(zone.substr(0, 3)) + ":" + std::string(zone.substr(3, 2));
    return out;
}

std::optional<int> whole_number(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

Error unreadable_answer(const std::string& what, const std::string& detail) {
    return make_error(ErrorClass::Protocol, "his.unreadable_answer", what + ": " + detail);
}

Error mismatched_answer(const std::string& what, const std::string& field) {
    return make_error(ErrorClass::Protocol, "his.mismatched_answer",
                      what + ": the answer names another " + field + " than the request (a stale or misrouted answer)");
}

Result<ScheduleSlot> slot_with_numbers(ScheduleSlot slot, std::string_view capacity, std::string_view booked,
                                       std::string_view fee_decimal) {
    auto c = whole_number(capacity);
    auto b = whole_number(booked);
    auto fee = decimal_to_cents(fee_decimal);
    if (!c || !b || !fee)
        return unreadable_answer("reference data", "slot " + slot.slot_id + " has a non-numeric capacity, count or fee");
    slot.capacity = *c;
    slot.booked = *b;
    slot.fee_cents = *fee;
    return slot;
}

Result<std::chrono::sys_seconds> hl7_instant(std::string_view ts, const TimeZone& zone, bool* had_offset) {
    auto bad = [&] {
        return make_error(ErrorClass::Protocol, "his.unreadable_time",
                          "\"" + std::string(ts) + "\" is not an HL7 time (YYYYMMDDHHMM[SS][+/-ZZZZ])");
    };
    size_t n = 0;
    while (n < ts.size() && std::isdigit(static_cast<unsigned char>(ts[n]))) ++n;
    if (n != 12 && n != 14) return bad();
    size_t end = n;
    if (end < ts.size() && ts[end] == '.') {
        ++end;
        while (end < ts.size() && std::isdigit(static_cast<unsigned char>(ts[end]))) ++end;
    }
    std::optional<std::chrono::minutes> offset;
    if (end < ts.size()) {
        if ((ts[end] != '+' && ts[end] != '-') || ts.size() != end + 5) return bad();
        for (size_t i = end + 1; i < ts.size(); ++i)
            if (!std::isdigit(static_cast<unsigned char>(ts[i]))) return bad();
        int minutes = digits(ts, end + 1, 2) * 60 + digits(ts, end + 3, 2);
        offset = std::chrono::minutes(ts[end] == '-' ? -minutes : minutes);
    }
    using namespace std::chrono;
    year_month_day date{year(digits(ts, 0, 4)), month(static_cast<unsigned>(digits(ts, 4, 2))),
                        day(static_cast<unsigned>(digits(ts, 6, 2)))};
    int hh = digits(ts, 8, 2), mm = digits(ts, 10, 2), ss = n == 14 ? digits(ts, 12, 2) : 0;
    if (!date.ok() || hh > 23 || mm > 59 || ss > 60) return bad();
    auto wall = local_days(date) + hours(hh) + minutes(mm) + seconds(ss);
    *had_offset = offset.has_value();
    if (offset) return sys_seconds(wall.time_since_epoch()) - *offset;
    return zone.to_utc(wall);
}

}  // namespace hisgate
