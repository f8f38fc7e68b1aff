// The rule kinds the parameters may name, in the order RuleSet evaluates them.
//
// The order is fixed by kind, not by the parameter file, so the same situation gets the
// same refusal in every hospital: first whether the hospital sees anyone that day, then
// when booking is possible, then who may book, then the slot's shape and quotas, the
// patient's own limits, and money last (paying is the last step a patient takes).
// Several rules of one kind keep their file order.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "appointment-rules/rule.h"
#include "appointment-rules/rule_fields.h"

namespace hisgate::appointments {

struct RuleKind {
    std::string_view name;
    // Reads the rule's own fields (never "rule" or "departments", which RuleSet reads).
    std::unique_ptr<Rule> (*make)(RuleFields&);
};

std::span<const RuleKind> rule_kinds();
const RuleKind* find_rule_kind(std::string_view name);

}  // namespace hisgate::appointments
