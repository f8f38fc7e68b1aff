// What every dialect owes its hospital's parameters, applied once around any adapter:
// ids must match his.id_formats before they are sent (a malformed id never reaches the
// HIS); payment methods travel in the HIS's own codes (his.code_tables.payment_method,
// vendor code -> hisgate code, read backwards); and the HIS's local report times are
// given their UTC offset in its time zone (his.timezone, else hospital.timezone); patient
// sex travels in the HIS's codes (his.code_tables.sex), both ways; and a report's result
// lines whose HIS code his.code_tables.lab_loinc maps carry that LOINC code and display
// (Observation::loinc_code): the map is the hospital's, not the dialect's, so it is applied
// here once for every dialect, and the agent core and the control plane need not know it.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "config-params/param_set.h"

namespace hisgate {

// Config error if the time zone cannot be loaded.
Result<std::unique_ptr<HisAdapter>> with_parameter_rules(std::unique_ptr<HisAdapter> adapter, const params::ParamSet& p);

}  // namespace hisgate
