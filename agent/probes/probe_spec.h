// The `probes` parameter: which known-good request each business path is probed with.
//
//   "probes": [{"path": "lab_report", "operation": "get_report",
//               "cases": ["R-DEMO-1", "R-H001-2"], "interval": "5m"}]
//
// `cases` are candidates tried in order: the first that the HIS has not archived is the
// one probed. Checked as a whole when the agent starts; every problem is reported at once
// with its JSON path, e.g. `probes[1].interval: expected a duration ..., found "soon"`.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/probes/probe_operations.h"
#include "common/error.h"
#include "config-params/param_set.h"

namespace hisgate::agent::probes {

struct ProbeSpec {
    std::string path;                // the business path's name, as the operator console shows it
    Operation operation = Operation::GetReport;
    std::vector<std::string> cases;  // candidate cases, in rotation order; never empty
    std::chrono::milliseconds interval{std::chrono::minutes(5)};
};

inline constexpr std::chrono::milliseconds kMinInterval{std::chrono::seconds(1)};
inline constexpr std::chrono::milliseconds kMaxInterval{std::chrono::hours(24)};
inline constexpr std::chrono::milliseconds kDefaultInterval{std::chrono::minutes(5)};

// Reads the value of the `probes` parameter. `source` names the parameter file in
// messages. Errors: Config "probes.invalid", one line per problem:
//   <source>: probes[<i>].<field>: expected <what>, found <what>
Result<std::vector<ProbeSpec>> parse_probes(const nlohmann::json& probes, const std::string& source);

// The same, from a checked parameter set.
Result<std::vector<ProbeSpec>> probes_from_params(const params::ParamSet& params, const std::string& source);

}  // namespace hisgate::agent::probes
