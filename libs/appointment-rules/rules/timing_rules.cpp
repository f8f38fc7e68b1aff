// When a booking may be made, all in the hospital's wall-clock time: not for a past slot,
// only during booking hours, not before the release window opens, not too far ahead, not
// after the same-day cut-off, not too close to the slot's start.
#include "appointment-rules/rules/rules.h"
#include "appointment-rules/wording.h"

namespace hisgate::appointments {

namespace {

using namespace std::chrono;

class PastSlots final : public Rule {
public:
    std::optional<Objection> check_booking(const BookingView& v) const override {
        const Moment& m = v.moment;
        bool passed = v.slot().date < m.today || (m.slot_start && *m.slot_start <= m.now);
        if (!passed) return std::nullopt;
        return Objection{"passed", "This appointment time has already passed. Please choose a later one."};
    }
};

// Booking is possible from `from` (inclusive) to `until` (exclusive) each day.
class BookingHours final : public Rule {
public:
    BookingHours(MinuteOfDay from, MinuteOfDay until) : from_(from), until_(until) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        MinuteOfDay now = v.moment.minute_now;
        if (now >= from_ && now < until_) return std::nullopt;
        return Objection{"closed", "Appointments can be booked between " + format_time_of_day(from_) + " and " +
                                       format_time_of_day(until_) + " (hospital time). Please try again then."};
    }

private:
    MinuteOfDay from_, until_;
};

// A day's slots open `days_ahead` days before it, at `opens_at`; the opening instant
// itself is open.
class ReleaseWindow final : public Rule {
public:
    ReleaseWindow(int days_ahead, MinuteOfDay opens_at) : days_ahead_(days_ahead), opens_at_(opens_at) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        Date opening_day = add_days(v.slot().date, -days_ahead_);
        if (v.moment.now >= v.moment.zone->to_utc(opening_day, opens_at_)) return std::nullopt;
        std::string at = format_time_of_day(opens_at_);
        return Objection{"not_open", "Booking for " + format_date(v.slot().date) + " opens " +
                                         count_of(days_ahead_, "day") + " ahead at " + at + "; try again on " +
                                         format_date(opening_day) + " from " + at + "."};
    }

private:
    int days_ahead_;
    MinuteOfDay opens_at_;
};

class MaxDaysAhead final : public Rule {
public:
    explicit MaxDaysAhead(int days) : days_(days) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (days_between(v.moment.today, v.slot().date) <= days_) return std::nullopt;
        return Objection{"too_far", "Appointments can be booked at most " + count_of(days_, "day") +
                                        " ahead. Please choose a day on or before " +
                                        format_date(add_days(v.moment.today, days_)) + "."};
    }

private:
    int days_;
};

// Booking for today stops at `cutoff` (the cut-off minute itself is closed).
class SameDayCutoff final : public Rule {
public:
    explicit SameDayCutoff(MinuteOfDay cutoff) : cutoff_(cutoff) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (v.slot().date != v.moment.today || v.moment.minute_now < cutoff_) return std::nullopt;
        return Objection{"closed", "Booking for today closes at " + format_time_of_day(cutoff_) +
                                       ". Please choose another day."};
    }

private:
    MinuteOfDay cutoff_;
};

// A timed slot must start at least `minutes` after now. Whole-day slots have no start
// time; same_day_cutoff is their rule.
class MinimumLeadTime final : public Rule {
public:
    explicit MinimumLeadTime(int minutes) : lead_(minutes) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        const Moment& m = v.moment;
        if (!m.slot_start || *m.slot_start - m.now >= lead_) return std::nullopt;
        return Objection{"too_late", "Appointments must be booked at least " + duration_in_words(int(lead_.count())) +
                                         " before they start. Please choose a later time."};
    }

private:
    minutes lead_;
};

}  // namespace

std::unique_ptr<Rule> make_past_slots(RuleFields&) { return std::make_unique<PastSlots>(); }

std::unique_ptr<Rule> make_booking_hours(RuleFields& f) {
    MinuteOfDay from = f.time_of_day("from");
    MinuteOfDay until = f.time_of_day("until");
    if (f.clean() && from >= until)
        f.problem("until", "a time after \"from\" (" + format_time_of_day(from) + ")",
                  "\"" + format_time_of_day(until) + "\"");
    return std::make_unique<BookingHours>(from, until);
}

std::unique_ptr<Rule> make_release_window(RuleFields& f) {
    int days = f.integer("days_ahead", 0, 366);
    return std::make_unique<ReleaseWindow>(days, f.time_of_day("opens_at"));
}

std::unique_ptr<Rule> make_max_days_ahead(RuleFields& f) { return std::make_unique<MaxDaysAhead>(f.integer("days", 0, 366)); }

std::unique_ptr<Rule> make_same_day_cutoff(RuleFields& f) {
    return std::make_unique<SameDayCutoff>(f.time_of_day("cutoff"));
}

std::unique_ptr<Rule> make_minimum_lead_time(RuleFields& f) {
    return std::make_unique<MinimumLeadTime>(f.integer("minutes", 1, 7 * 24 * 60));
}

}  // namespace hisgate::appointments
