// What a slot looks like: fixed-length slots on a grid, or morning and afternoon halves
// that one patient may not combine on one day.
#include "appointment-rules/rules/rules.h"

namespace hisgate::appointments {

namespace {

// Every slot lasts `minutes` and starts on the grid first_slot_at + k * minutes.
class FixedSlots final : public Rule {
public:
    FixedSlots(int minutes, MinuteOfDay first) : minutes_(minutes), first_(first) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        const auto& t = v.slot().time;
        bool on_grid = t && t->end - t->start == minutes_ && t->start >= first_ && (t->start - first_) % minutes_ == 0;
        if (on_grid) return std::nullopt;
        return Objection{"not_a_slot", "This hospital books " + std::to_string(minutes_) +
                                           "-minute appointments at set times (" + format_time_of_day(first_) +
                                           ", " + format_time_of_day((first_ + minutes_) % minutes_per_day) +
                                           " and so on). Please choose one of the listed times."};
    }

private:
    int minutes_;
    MinuteOfDay first_;
};

// Morning and afternoon are separate sessions; a patient holding one on a day may not
// book the other. A slot's session is its `half` if the HIS names one, else the start
// time decides (afternoon from `afternoon_from`).
class HalfDay final : public Rule {
public:
    explicit HalfDay(MinuteOfDay afternoon_from) : afternoon_from_(afternoon_from) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        Half half = session_of(v.slot());
        if (half == Half::none) return Objection{"no_half", "Please choose a morning or an afternoon session."};
        bool holds_other = half == Half::morning ? v.counts.patient_holds_afternoon : v.counts.patient_holds_morning;
        if (!holds_other) return std::nullopt;
        // The patient can keep to the session already held.
        std::string held = half == Half::morning ? "an afternoon" : "a morning";
        return Objection{"mixed", "You already have " + held + " appointment on " + format_date(v.slot().date) +
                                      ", and this hospital does not combine morning and afternoon appointments on "
                                      "one day. Please choose " + held + " session or another day."};
    }

private:
    Half session_of(const Slot& s) const {
        if (s.half != Half::none || !s.time) return s.half;
        return s.time->start >= afternoon_from_ ? Half::afternoon : Half::morning;
    }

    MinuteOfDay afternoon_from_;
};

}  // namespace

std::unique_ptr<Rule> make_fixed_slots(RuleFields& f) {
    int minutes = f.one_of("minutes", {5, 10, 15, 20, 30});
    return std::make_unique<FixedSlots>(minutes, f.optional_time_of_day("first_slot_at").value_or(0));
}

std::unique_ptr<Rule> make_half_day(RuleFields& f) { return std::make_unique<HalfDay>(f.time_of_day("afternoon_from")); }

}  // namespace hisgate::appointments
