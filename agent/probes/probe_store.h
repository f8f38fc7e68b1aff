// The probes' state in the agent's state file, in tables prefixed probe_ next to the
// queue and outbox: the last good answer per path and case, the cases the HIS archived,
// and each probe's outcome for availability. Survives restarts.
//
// The case a path probes is the first of its candidates (in parameter order) not yet
// archived, so it is derived, never stored twice: adding fresh candidates to the
// parameter file takes effect at the next start.
//
// One connection of its own; not thread-safe (the runner serialises its use).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "agent/probes/probe_operations.h"
#include "agent/probes/probe_result.h"
#include "common/error.h"
#include "common/sqlite.h"

namespace hisgate::agent::probes {

// Outcomes are kept this long: the longest availability window plus a margin.
inline constexpr std::chrono::hours kOutcomeRetention{25};

class ProbeStore {
public:
    // Opens (creating if needed) the state file and the probe_ tables.
    static Result<ProbeStore> open(const std::string& state_file);

    struct Answer {
        nlohmann::json canonical;
        std::string fingerprint;
        int64_t at_ms = 0;
    };
    Result<std::optional<Answer>> last_good(const std::string& path, Operation op, const std::string& case_id);
    Result<void> save_last_good(const std::string& path, Operation op, const std::string& case_id, const Answer& a);

    Result<std::set<std::string>> archived_cases(const std::string& path, Operation op);
    Result<void> archive(const std::string& path, Operation op, const std::string& case_id, int64_t at_ms);

    // Records one outcome and forgets this path's outcomes older than kOutcomeRetention.
    Result<void> record(const std::string& path, Outcome outcome, int64_t at_ms);
    // The outcomes recorded in (now - window, now].
    Result<Availability> availability(const std::string& path, int64_t now_ms, std::chrono::milliseconds window);

private:
    explicit ProbeStore(sql::Db db) : db_(std::move(db)) {}
    sql::Db db_;
};

}  // namespace hisgate::agent::probes
