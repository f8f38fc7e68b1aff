// What every dialect owes its hospital's parameters, applied once around any adapter:
// ids must match his.id_formats before they are sent (a malformed id never reaches the
// HIS); payment methods travel in the HIS's own codes (his.code_tables.payment_method,
// vendor code -> hisgate code, read backwards); and the HIS's local report times are
// given their UTC offset in its time zone (his.timezone, else hospital.timezone); patient
// sex travels in the HIS's codes (his.code_tables.sex), both ways.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "config-params/param_set.h"

namespace hisgate {

// Config error if the time zone cannot be loaded.
Result<std::unique_ptr<HisAdapter>> with_parameter_rules(std::unique_ptr<HisAdapter> adapter, const params::ParamSet& p);

}  // namespace hisgate
