// How many bookings a day holds: caps per doctor and department, first-visit and
// follow-up quotas, whole-day quotas without times, and each patient's own daily limits.
// All are one shape, "refuse once a count the caller supplies reaches a limit", so they
// share DailyLimit and differ in which count, which visits, and what the patient is told.
#include <string>

#include "appointment-rules/rules/rules.h"
#include "appointment-rules/wording.h"

namespace hisgate::appointments {

namespace {

struct LimitSpec {
    int BookingCounts::*count;
    std::optional<VisitKind> only;  // the limit applies to these visits only
    const char* reason;
    std::string (*message)(int limit, const BookingView&);
};

class DailyLimit final : public Rule {
public:
    DailyLimit(LimitSpec spec, int limit) : spec_(spec), limit_(limit) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (spec_.only && v.slot().visit != *spec_.only) return std::nullopt;
        if (v.counts.*spec_.count < limit_) return std::nullopt;
        return Objection{spec_.reason, spec_.message(limit_, v)};
    }

private:
    LimitSpec spec_;
    int limit_;
};

std::string on_day(const BookingView& v) { return format_date(v.slot().date); }

const LimitSpec doctor_cap{&BookingCounts::doctor_day, std::nullopt, "full", [](int, const BookingView& v) {
    return "This doctor has no more appointments on " + on_day(v) + ". Please choose another day or doctor.";
}};

const LimitSpec department_cap{&BookingCounts::department_day, std::nullopt, "full", [](int, const BookingView& v) {
    return "This department has no more appointments on " + on_day(v) + ". Please choose another day.";
}};

const LimitSpec first_visits{&BookingCounts::first_visits_day, VisitKind::first, "full", [](int, const BookingView& v) {
    return "All first-visit appointments with this doctor on " + on_day(v) + " are taken. Please choose another day.";
}};

const LimitSpec follow_ups{&BookingCounts::follow_ups_day, VisitKind::follow_up, "full", [](int, const BookingView& v) {
    return "All follow-up appointments with this doctor on " + on_day(v) + " are taken. Please choose another day.";
}};

const LimitSpec patient_day{&BookingCounts::patient_day, std::nullopt, "reached", [](int limit, const BookingView& v) {
    return "You can have at most " + count_of(limit, "appointment") + " a day at this hospital, and you already have " +
           std::to_string(v.counts.patient_day) + " on " + on_day(v) + ". Please choose another day.";
}};

const LimitSpec patient_department_day{
    &BookingCounts::patient_department_day, std::nullopt, "reached", [](int limit, const BookingView& v) {
        return "You can have at most " + count_of(limit, "appointment") +
               " a day in this department, and you already have " + std::to_string(v.counts.patient_department_day) +
               " on " + on_day(v) + ". Please choose another day.";
    }};

// Whole-day quota: the HIS hands out numbers for the day, not times, so a timed slot does
// not belong to this hospital; then the doctor's day holds `quota` bookings.
class WholeDayQuota final : public Rule {
public:
    explicit WholeDayQuota(int quota) : quota_(doctor_cap, quota) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (v.slot().time)
            return Objection{"timed_slot", "This hospital books by day, not by time. Please choose a day only."};
        return quota_.check_booking(v);
    }

private:
    DailyLimit quota_;
};

std::unique_ptr<Rule> limit_from(RuleFields& f, const char* field, const LimitSpec& spec) {
    return std::make_unique<DailyLimit>(spec, f.integer(field, 1, 100000));
}

}  // namespace

std::unique_ptr<Rule> make_whole_day_quota(RuleFields& f) {
    return std::make_unique<WholeDayQuota>(f.integer("quota", 1, 100000));
}
std::unique_ptr<Rule> make_doctor_daily_cap(RuleFields& f) { return limit_from(f, "max", doctor_cap); }
std::unique_ptr<Rule> make_department_daily_cap(RuleFields& f) { return limit_from(f, "max", department_cap); }
std::unique_ptr<Rule> make_first_visit_quota(RuleFields& f) { return limit_from(f, "quota", first_visits); }
std::unique_ptr<Rule> make_follow_up_quota(RuleFields& f) { return limit_from(f, "quota", follow_ups); }
std::unique_ptr<Rule> make_patient_daily_max(RuleFields& f) { return limit_from(f, "max", patient_day); }
std::unique_ptr<Rule> make_patient_department_daily_max(RuleFields& f) {
    return limit_from(f, "max", patient_department_day);
}

}  // namespace hisgate::appointments
