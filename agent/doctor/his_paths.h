// One row per business path of the HIS, each proven by a read-only call through the
// hospital's own adapter (the code the agent runs), so a row passes only if the agent's
// requests on that path would reach the HIS and be understood. Nothing here changes the
// HIS: booking, cancelling, paying and refunding are never called.
//
//   his.reference_data   extract_reference_data(today, today)
//   his.report           get_report(--report-id, else a made-up id in the hospital's
//                        report id format: "no such report" proves the path answers)
//   his.payment_status   payment_status(a made-up order id): must answer not_found
//   his.statement        daily_statement(yesterday)
#pragma once

#include <string>

#include "adapters/his_adapter.h"
#include "agent/doctor/finding.h"
#include "config-params/param_set.h"

namespace hisgate::agent::doctor {

// `report_id`: a report hospital IT knows exists; empty = a made-up one.
Findings check_his_paths(HisAdapter& adapter, const params::ParamSet& p, const std::string& report_id);

// What hospital IT does about an adapter error on a path (by its class).
std::string his_fix(const Error& e, const params::ParamSet& p);

}  // namespace hisgate::agent::doctor
