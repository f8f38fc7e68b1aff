// Until when a booking may be cancelled online: a number of minutes before the slot
// starts, or a time of day on the day before. The deadline instant itself is allowed.
#include "appointment-rules/rules/rules.h"
#include "appointment-rules/wording.h"

namespace hisgate::appointments {

namespace {

using namespace std::chrono;

std::optional<Objection> refuse_after(const CancellationView& v, sys_seconds deadline, const std::string& policy) {
    if (v.moment.now <= deadline) return std::nullopt;
    return Objection{"passed", policy + ", so the deadline for this one was " +
                                   format_local(v.moment.zone->to_local(deadline)) +
                                   ". Please contact the hospital to cancel it."};
}

// `minutes_before` the slot starts; a whole-day slot starts at 00:00 of its day.
class CancellationDeadline final : public Rule {
public:
    explicit CancellationDeadline(int minutes_before) : before_(minutes_before) {}

    std::optional<Objection> check_cancellation(const CancellationView& v) const override {
        sys_seconds start = v.moment.slot_start.value_or(v.moment.slot_day_start);
        std::string policy = before_.count() == 0
                                 ? "Appointments can be cancelled online until they start"
                                 : "Appointments can be cancelled online up to " +
                                       duration_in_words(int(before_.count())) + " before they start";
        return refuse_after(v, start - before_, policy);
    }

private:
    minutes before_;
};

class CancellationDayBefore final : public Rule {
public:
    explicit CancellationDayBefore(MinuteOfDay until) : until_(until) {}

    std::optional<Objection> check_cancellation(const CancellationView& v) const override {
        sys_seconds deadline = v.moment.zone->to_utc(add_days(v.slot().date, -1), until_);
        return refuse_after(v, deadline,
                            "Appointments can be cancelled online until " + format_time_of_day(until_) +
                                " on the day before");
    }

private:
    MinuteOfDay until_;
};

}  // namespace

std::unique_ptr<Rule> make_cancellation_deadline(RuleFields& f) {
    return std::make_unique<CancellationDeadline>(f.integer("minutes_before", 0, 30 * 24 * 60));
}

std::unique_ptr<Rule> make_cancellation_day_before(RuleFields& f) {
    return std::make_unique<CancellationDayBefore>(f.time_of_day("until"));
}

}  // namespace hisgate::appointments
