#include "appointment-rules/calendar.h"

#include <array>
#include <cstdio>

namespace hisgate::appointments {

namespace {

// Digits at text[from, from+count) as a number, or -1 if any is not a digit.
int digits(std::string_view text, size_t from, size_t count) {
    int n = 0;
    for (size_t i = from; i < from + count; ++i) {
        char c = text[i];
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

constexpr std::array<std::string_view, 7> weekday_keys = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::array<std::string_view, 7> weekday_names = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                           "Thursday", "Friday", "Saturday"};

}  // namespace

std::optional<Date> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    int y = digits(text, 0, 4), m = digits(text, 5, 2), d = digits(text, 8, 2);
    if (y < 0 || m < 0 || d < 0) return std::nullopt;
    Date date{std::chrono::year{y}, std::chrono::month{unsigned(m)}, std::chrono::day{unsigned(d)}};
    if (!date.ok()) return std::nullopt;
    return date;
}

std::string format_date(Date d) {
    char buf[40];  // sized for any year_month_day, valid or not
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(d.year()), unsigned(d.month()), unsigned(d.day()));
    return buf;
}

std::optional<MinuteOfDay> parse_time_of_day(std::string_view text) {
    if (text.size() != 5 || text[2] != ':') return std::nullopt;
    int h = digits(text, 0, 2), m = digits(text, 3, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
    return h * 60 + m;
}

std::string format_time_of_day(MinuteOfDay m) {
    char buf[24];  // sized for any int, though m is 0..1439
    std::snprintf(buf, sizeof buf, "%02d:%02d", m / 60, m % 60);
    return buf;
}

std::string format_local(std::chrono::local_seconds t) {
    auto day = std::chrono::floor<std::chrono::days>(t);
    auto minute = std::chrono::duration_cast<std::chrono::minutes>(t - day).count();
    return format_date(Date{day}) + " " + format_time_of_day(MinuteOfDay(minute));
}

Date add_days(Date d, int days) { return Date{std::chrono::sys_days{d} + std::chrono::days{days}}; }

int days_between(Date a, Date b) { return int((std::chrono::sys_days{b} - std::chrono::sys_days{a}).count()); }

std::optional<std::chrono::weekday> parse_weekday(std::string_view text) {
    for (unsigned i = 0; i < weekday_keys.size(); ++i)
        if (weekday_keys[i] == text) return std::chrono::weekday{i};
    return std::nullopt;
}

std::string weekday_name(std::chrono::weekday w) { return std::string(weekday_names[w.c_encoding()]); }

int age_on(Date birth, Date on) {
    int years = int(on.year()) - int(birth.year());
    bool birthday_reached = std::pair{unsigned(on.month()), unsigned(on.day())} >=
                            std::pair{unsigned(birth.month()), unsigned(birth.day())};
    return birthday_reached ? years : years - 1;
}

}  // namespace hisgate::appointments
