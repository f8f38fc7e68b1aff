// Who may book: a verified real name, not suspended for missed appointments, and, in
// departments that restrict it, of the right age and sex.
#include "appointment-rules/rules/rules.h"
#include "appointment-rules/wording.h"

namespace hisgate::appointments {

namespace {

class RealNameRequired final : public Rule {
public:
    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (v.patient().real_name_verified) return std::nullopt;
        return Objection{"unverified",
                         "Please verify your real name with your ID card before booking. You can do this in your "
                         "profile."};
    }
};

// Suspended once the patient has missed `misses` appointments (counted by the caller over
// the hospital's window).
class NoShowBlacklist final : public Rule {
public:
    explicit NoShowBlacklist(int misses) : misses_(misses) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (v.patient().no_show_count < misses_) return std::nullopt;
        return Objection{"suspended", "Online booking is suspended because you have missed " +
                                          count_of(v.patient().no_show_count, "appointment") +
                                          " without cancelling. Please contact the hospital."};
    }

private:
    int misses_;
};

// Age in completed years on the day of the appointment, within [min, max].
class AgeRange final : public Rule {
public:
    AgeRange(std::optional<int> min, std::optional<int> max) : min_(min), max_(max) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        Date birth = v.patient().birth_date;
        if (!birth.ok())
            return Objection{"unknown_age", "This department sees " + ages() +
                                                " only. Please add your date of birth to your profile, then book."};
        int age = age_on(birth, v.slot().date);
        if ((!min_ || age >= *min_) && (!max_ || age <= *max_)) return std::nullopt;
        return Objection{"outside_ages", "This department sees " + ages() + " only. Please choose another department."};
    }

private:
    std::string ages() const {
        if (min_ && max_) return "patients aged " + std::to_string(*min_) + " to " + std::to_string(*max_);
        if (min_) return "patients aged " + std::to_string(*min_) + " and over";
        return "patients aged " + std::to_string(*max_) + " and under";
    }

    std::optional<int> min_, max_;  // at least one is set
};

class SexRestriction final : public Rule {
public:
    explicit SexRestriction(Sex sex) : sex_(sex) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        Sex sex = v.patient().sex;
        if (sex == sex_) return std::nullopt;
        std::string only = std::string("This department sees ") + (sex_ == Sex::female ? "female" : "male") +
                           " patients only.";
        if (sex == Sex::unknown) return Objection{"unknown_sex", only + " Please add your sex to your profile, then book."};
        return Objection{"other_sex", only + " Please choose another department."};
    }

private:
    Sex sex_;
};

}  // namespace

std::unique_ptr<Rule> make_real_name_required(RuleFields&) { return std::make_unique<RealNameRequired>(); }

std::unique_ptr<Rule> make_no_show_blacklist(RuleFields& f) {
    return std::make_unique<NoShowBlacklist>(f.integer("misses", 1, 1000));
}

std::unique_ptr<Rule> make_age_range(RuleFields& f) {
    auto min = f.optional_integer("min_age", 0, 150);
    auto max = f.optional_integer("max_age", 0, 150);
    if (!min && !max) f.problem("min_age", "min_age, max_age or both", "neither");
    if (f.clean() && min && max && *min > *max)
        f.problem("max_age", "an age of at least min_age (" + std::to_string(*min) + ")", std::to_string(*max));
    return std::make_unique<AgeRange>(min, max);
}

std::unique_ptr<Rule> make_sex_restriction(RuleFields& f) {
    return std::make_unique<SexRestriction>(f.one_of("sex", {"female", "male"}) == "female" ? Sex::female : Sex::male);
}

}  // namespace hisgate::appointments
