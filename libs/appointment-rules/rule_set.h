// A hospital's appointment rules, read from the "appointment" section of its parameters
// and evaluated before a booking or cancellation reaches the HIS.
//
//   {"rules": [{"rule": "fixed_slots", "minutes": 15},
//              {"rule": "release_window", "days_ahead": 7, "opens_at": "08:00"},
//              {"rule": "age_range", "departments": ["PED"], "max_age": 14}],
//    "timezone": "Asia/Shanghai"}
//
// Every rule may carry "departments": then it applies only to slots of those departments.
// A kind may appear more than once (one age_range per department); all apply. Rules run
// in the fixed order of rule_kinds.h and the first refusal wins. Checking is pure and
// thread-safe: no clock, no I/O, no shared mutable state.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "appointment-rules/booking.h"
#include "appointment-rules/rule.h"
#include "common/time_zone.h"
#include "common/error.h"

namespace hisgate::appointments {

struct RuleKind;

class RuleSet {
public:
    // `source` names the parameter file in error messages. The zone is
    // appointment.timezone, or `hospital_timezone` (the hospital.timezone parameter) when
    // that is empty; it is required once there is any rule. Errors are class Config,
    // code "appointment.invalid_rules", one line per problem, each with its JSON path.
    static Result<RuleSet> from_params(const nlohmann::json& appointment_section, const std::string& source,
                                       const std::string& hospital_timezone = "");

    std::optional<Refusal> check_booking(const BookingRequest& request, const BookingCounts& counts) const;
    std::optional<Refusal> check_cancellation(const CancellationRequest& request) const;

    // The configured rules' kinds in evaluation order, one entry per configured rule.
    std::vector<std::string> rule_names() const;
    const TimeZone& time_zone() const { return zone_; }

private:
    struct Entry {
        const RuleKind* kind;
        std::optional<std::set<std::string>> departments;  // none: every department
        std::shared_ptr<const Rule> rule;                 // shared so a RuleSet copies cheaply
    };

    Moment place(std::chrono::sys_seconds now, const Slot& slot) const;
    template <class Check>
    std::optional<Refusal> first_refusal(const Slot& slot, Check check) const;

    std::vector<Entry> entries_;  // in evaluation order
    TimeZone zone_;
};

}  // namespace hisgate::appointments
