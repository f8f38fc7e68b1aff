// The health board's memory (issue 13 item 5): every probe.result event of the agents,
// kept for 24 h, and per hospital and business path its last outcome, when it last changed
// and the last failure's reason; so any instance sharing the store answers
// GET /api/v1/health/paths.
//
// A probe that got an answer (ok, changed, archived) counts as available, a failed one not
// (as the agents' own hisgate_agent_probe_availability). Results are kept for `keep`
// (24 h: the longest window shown) and no more than `max_results` of them.
//
// This is the interface; SQLite implements it (open_sqlite_path_health_store, on the
// control plane's results_db).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane::health {

struct ProbeOutcome {
    std::string hospital_id;
    std::string path;     // 1..64 of A-Z a-z 0-9 _ - .
    std::string outcome;  // ok, changed, failed, archived
    std::string reason;   // a failure's error code ("" otherwise), bounded
};

struct PathHealth {
    std::string hospital_id;
    std::string path;
    std::string last_outcome;
    int64_t last_at_ms = 0;
    int64_t last_change_ms = 0;   // when the outcome last differed from the one before
    std::string last_failure_reason;
    int64_t last_failure_ms = 0;  // 0: no failure kept
    std::optional<double> availability_1h, availability_24h;  // none: no probe in the window
    int probes_1h = 0, probes_24h = 0;
};

inline constexpr int kMaxPathsPerHospital = 32;

struct PathHealthRetention {
    std::chrono::milliseconds keep{std::chrono::hours(24)};
    int64_t max_results = 1000000;
};

class PathHealthStore {
public:
    virtual ~PathHealthStore() = default;
    // Records one probe result at the store's clock. A new path of a hospital that has
    // kMaxPathsPerHospital already is refused (BadInput health.too_many_paths).
    virtual Result<void> record(const ProbeOutcome& o) = 0;
    // Every path of `hospital_id` (or of every hospital when empty), by hospital and path.
    virtual Result<std::vector<PathHealth>> paths(const std::string& hospital_id) = 0;
};

Result<std::unique_ptr<PathHealthStore>> open_sqlite_path_health_store(const std::string& path, Clock& clock,
                                                                      PathHealthRetention retention = {});

}  // namespace hisgate::controlplane::health
