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
