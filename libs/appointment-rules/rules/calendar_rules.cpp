// Is the hospital open on the slot's date: a holiday list, and weekly closed days with
// exceptions (make-up working days such as China's 调休 Saturdays).
#include <set>

#include "appointment-rules/rules/rules.h"

namespace hisgate::appointments {

namespace {

class HolidayCalendar final : public Rule {
public:
    explicit HolidayCalendar(std::set<Date> closed) : closed_(std::move(closed)) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (!closed_.count(v.slot().date)) return std::nullopt;
        return Objection{"closed", "The hospital is closed on " + format_date(v.slot().date) +
                                       " for a holiday. Please choose another day."};
    }

private:
    std::set<Date> closed_;
};

class WeekdayClosed final : public Rule {
public:
    WeekdayClosed(WeekdaySet closed, std::set<Date> open_dates)
        : closed_(std::move(closed)), open_dates_(std::move(open_dates)) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        std::chrono::weekday day{std::chrono::sys_days{v.slot().date}};
        if (!closed_.count(day) || open_dates_.count(v.slot().date)) return std::nullopt;
        return Objection{"closed", "The hospital does not see patients on " + weekday_name(day) +
                                       "s. Please choose another day."};
    }

private:
    WeekdaySet closed_;
    std::set<Date> open_dates_;  // closed weekdays that are working days after all
};

}  // namespace

std::unique_ptr<Rule> make_holiday_calendar(RuleFields& f) { return std::make_unique<HolidayCalendar>(f.dates("closed")); }

std::unique_ptr<Rule> make_weekday_closed(RuleFields& f) {
    auto closed = f.weekdays("weekdays");
    return std::make_unique<WeekdayClosed>(std::move(closed), f.optional_dates("open_dates"));
}

}  // namespace hisgate::appointments
