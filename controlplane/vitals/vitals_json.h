// How vitals look in the API and on the ward feed: one renderer each, so the beds list,
// the alarm list and the feed's events agree field for field.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "controlplane/vitals/monitor_board.h"
#include "controlplane/vitals/vitals_store.h"

namespace hisgate::controlplane::vitals {

nlohmann::json alarm_json(const AlarmRecord& a);
nlohmann::json monitor_json(const MonitorView& m);
nlohmann::json latest_json(const LatestValue& v);
nlohmann::json sample_json(const VitalSample& s);

}  // namespace hisgate::controlplane::vitals
