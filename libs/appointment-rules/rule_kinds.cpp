#include "appointment-rules/rule_kinds.h"

#include <array>

#include "appointment-rules/rules/rules.h"

namespace hisgate::appointments {

namespace {

// Evaluation order; docs/appointment-rules.md documents the same list. The last two
// are about cancellations and say yes to every booking (and the others the other way).
const std::array kinds = {
    RuleKind{"holiday_calendar", make_holiday_calendar},
    RuleKind{"weekday_closed", make_weekday_closed},
    RuleKind{"past_slots", make_past_slots},
    RuleKind{"booking_hours", make_booking_hours},
    RuleKind{"release_window", make_release_window},
    RuleKind{"max_days_ahead", make_max_days_ahead},
    RuleKind{"same_day_cutoff", make_same_day_cutoff},
    RuleKind{"minimum_lead_time", make_minimum_lead_time},
    RuleKind{"real_name_required", make_real_name_required},
    RuleKind{"no_show_blacklist", make_no_show_blacklist},
    RuleKind{"age_range", make_age_range},
    RuleKind{"sex_restriction", make_sex_restriction},
    RuleKind{"fixed_slots", make_fixed_slots},
    RuleKind{"half_day", make_half_day},
    RuleKind{"whole_day_quota", make_whole_day_quota},
    RuleKind{"doctor_daily_cap", make_doctor_daily_cap},
    RuleKind{"department_daily_cap", make_department_daily_cap},
    RuleKind{"first_visit_quota", make_first_visit_quota},
    RuleKind{"follow_up_quota", make_follow_up_quota},
    RuleKind{"patient_daily_max", make_patient_daily_max},
    RuleKind{"patient_department_daily_max", make_patient_department_daily_max},
    RuleKind{"prepayment_required", make_prepayment_required},
    RuleKind{"deposit_required", make_deposit_required},
    RuleKind{"cancellation_deadline", make_cancellation_deadline},
    RuleKind{"cancellation_day_before", make_cancellation_day_before},
};

}  // namespace

std::span<const RuleKind> rule_kinds() { return kinds; }

const RuleKind* find_rule_kind(std::string_view name) {
    for (const auto& k : kinds)
        if (k.name == name) return &k;
    return nullptr;
}

}  // namespace hisgate::appointments
