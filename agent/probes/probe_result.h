// What one probe of one business path found, as sent upstream in a "probe.result" event.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/probes/answer_comparison.h"
#include "agent/probes/probe_operations.h"
#include "common/error.h"

namespace hisgate::agent::probes {

enum class Outcome {
    Ok,        // same answer as the last good one (or the first answer for this case)
    Changed,   // the path answers, but the content differs from the last good answer
    Failed,    // the HIS could not be asked or answered with an error
    Archived,  // the HIS no longer holds the case: the probe moved to the next candidate
};

std::string_view to_string(Outcome o);
std::optional<Outcome> outcome_from_string(std::string_view s);
// ok, changed and archived mean the path answered; only failed counts against availability.
bool counts_as_available(Outcome o);

// A path's record over one window. `share` is empty when nothing was probed in it.
struct Availability {
    int64_t probes = 0;
    int64_t available = 0;  // ok + changed + archived
    int64_t changed = 0;    // answered, but the interface or the content moved: flagged

    std::optional<double> share() const;
    nlohmann::json to_json() const;
};

struct ProbeResult {
    std::string path;
    Operation operation = Operation::GetReport;
    std::string case_id;  // the case asked; empty when every candidate is archived
    Outcome outcome = Outcome::Failed;
    int64_t at_ms = 0;    // when the probe started, Unix milliseconds
    double seconds = 0;   // how long the HIS took
    std::string fingerprint;  // of the canonical answer (ok, changed)
    bool first_answer = false;  // ok with no earlier answer for this case to compare with
    FieldDiff diff;             // changed: which fields appeared, disappeared or changed
    std::optional<Error> error;  // failed: the class and code of what went wrong
    std::optional<std::string> next_case;  // archived: the candidate probed from now on, if any
    Availability last_hour, last_day;

    nlohmann::json to_json() const;
};

}  // namespace hisgate::agent::probes
