// Dates and times of day as a hospital's parameters and slots write them.
//
// A date is a std::chrono::year_month_day ("2026-11-28"); a time of day is a count of
// minutes after local midnight ("08:30" is 510). Both are wall-clock values in the
// hospital's zone: time_zone.h turns them into instants.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace hisgate::appointments {

using Date = std::chrono::year_month_day;

// Minutes after local midnight, 0..1439.
using MinuteOfDay = int;
inline constexpr MinuteOfDay minutes_per_day = 24 * 60;

// "YYYY-MM-DD" with a real calendar date, else nullopt.
std::optional<Date> parse_date(std::string_view text);
std::string format_date(Date d);

// "HH:MM" from 00:00 to 23:59, else nullopt.
std::optional<MinuteOfDay> parse_time_of_day(std::string_view text);
std::string format_time_of_day(MinuteOfDay m);

// "YYYY-MM-DD HH:MM" of a wall-clock instant.
std::string format_local(std::chrono::local_seconds t);

Date add_days(Date d, int days);
// Whole days from a to b (negative when b is earlier).
int days_between(Date a, Date b);

// "mon".."sun" (the parameters' spelling), else nullopt.
std::optional<std::chrono::weekday> parse_weekday(std::string_view text);
// A set of weekdays (std::chrono::weekday has no ordering of its own).
struct WeekdayOrder {
    bool operator()(std::chrono::weekday a, std::chrono::weekday b) const { return a.c_encoding() < b.c_encoding(); }
};
using WeekdaySet = std::set<std::chrono::weekday, WeekdayOrder>;

// "Monday".."Sunday", for patients.
std::string weekday_name(std::chrono::weekday w);

// Completed years of life on day `on` for someone born on `birth`. A 29 February
// birthday counts as reached on 1 March in common years.
int age_on(Date birth, Date on);

}  // namespace hisgate::appointments
