// Constructors of every rule kind, grouped by the file that implements them. Each reads
// its fields through RuleFields; rule_kinds.cpp lists them in evaluation order.
#pragma once

#include <memory>

#include "appointment-rules/rule.h"
#include "appointment-rules/rule_fields.h"

namespace hisgate::appointments {

// calendar_rules.cpp: is the hospital open that day
std::unique_ptr<Rule> make_holiday_calendar(RuleFields&);
std::unique_ptr<Rule> make_weekday_closed(RuleFields&);

// timing_rules.cpp: when a booking may be made
std::unique_ptr<Rule> make_past_slots(RuleFields&);
std::unique_ptr<Rule> make_booking_hours(RuleFields&);
std::unique_ptr<Rule> make_release_window(RuleFields&);
std::unique_ptr<Rule> make_max_days_ahead(RuleFields&);
std::unique_ptr<Rule> make_same_day_cutoff(RuleFields&);
std::unique_ptr<Rule> make_minimum_lead_time(RuleFields&);

// patient_rules.cpp: who may book
std::unique_ptr<Rule> make_real_name_required(RuleFields&);
std::unique_ptr<Rule> make_no_show_blacklist(RuleFields&);
std::unique_ptr<Rule> make_age_range(RuleFields&);
std::unique_ptr<Rule> make_sex_restriction(RuleFields&);

// slot_shape_rules.cpp: what a slot looks like
std::unique_ptr<Rule> make_fixed_slots(RuleFields&);
std::unique_ptr<Rule> make_half_day(RuleFields&);

// quota_rules.cpp: how many bookings a day holds
std::unique_ptr<Rule> make_whole_day_quota(RuleFields&);
std::unique_ptr<Rule> make_doctor_daily_cap(RuleFields&);
std::unique_ptr<Rule> make_department_daily_cap(RuleFields&);
std::unique_ptr<Rule> make_first_visit_quota(RuleFields&);
std::unique_ptr<Rule> make_follow_up_quota(RuleFields&);
std::unique_ptr<Rule> make_patient_daily_max(RuleFields&);
std::unique_ptr<Rule> make_patient_department_daily_max(RuleFields&);

// payment_rules.cpp: money before booking
std::unique_ptr<Rule> make_prepayment_required(RuleFields&);
std::unique_ptr<Rule> make_deposit_required(RuleFields&);

// cancellation_rules.cpp: until when a booking may be cancelled
std::unique_ptr<Rule> make_cancellation_deadline(RuleFields&);
std::unique_ptr<Rule> make_cancellation_day_before(RuleFields&);

}  // namespace hisgate::appointments
