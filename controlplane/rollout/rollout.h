// A rollout (issue 16 items 5 and 6): one release taken to a chosen part of the fleet in
// waves, each wave judged before the next starts, halting by itself when too many of its
// hospitals fail (docs/rollouts.md).
//
// What a rollout is made of, as stored (rollout_store.h) and shown (the API's JSON). The
// wave engine (rollout_engine.h) is the only writer of the mutable fields.
//
// Invariants:
//  - targets are in rollout order (canaries first) and their waves never decrease along it;
//  - spec.waves_bp is ascending, each in 1..10000 basis points, the last 10000 (100%);
//  - a target's state only moves forward: Pending -> Checking -> Installing -> Succeeded |
//    Failed, or to Held, Refused or Superseded; a final rollout (Halted, Aborted, Done)
//    never changes again.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::controlplane::rollout {

enum class RolloutState { Running, Paused, Halted, Aborted, Done };
enum class TargetState {
    Pending,     // its wave has not started
    Checking,    // its wave started; waiting for its parameter file (params.get) to gate it
    Installing,  // release.install sent; waiting for the fleet registry to show the result
    Succeeded,   // the registry shows the new version and passing probes
    Failed,      // silent past the deadline, still at the old version, probes failing, or rolled back
    Held,        // its parameter file would break under the release (listed problems)
    Refused,     // outside the version window (more than five releases behind), or unreadable version
    Superseded,  // a newer rollout took it over
};

const char* to_string(RolloutState s);
const char* to_string(TargetState s);
std::optional<RolloutState> rollout_state_from(const std::string& s);
std::optional<TargetState> target_state_from(const std::string& s);
inline bool is_final(RolloutState s) { return s == RolloutState::Halted || s == RolloutState::Aborted || s == RolloutState::Done; }
// A target whose outcome is settled: it holds its wave no longer.
inline bool is_settled(TargetState s) { return s != TargetState::Pending && s != TargetState::Checking && s != TargetState::Installing; }

// Which hospitals of the fleet a rollout takes: exact matches, absent = any.
struct Selector {
    std::optional<std::string> region, dialect, version;
};

inline constexpr int kMaxWaves = 10;
inline constexpr size_t kMaxListedIds = 1000;  // canaries, overrides
inline constexpr int64_t kMinWaveTimeoutMs = 1000;
inline constexpr int64_t kMaxWaveTimeoutMs = int64_t{7} * 24 * 3600 * 1000;
inline constexpr int64_t kDefaultSoakMs = 5 * 60 * 1000;

struct RolloutSpec {
    std::string release;                 // the version, as it prints ("1.2.0")
    std::vector<int> waves_bp{100, 1000, 5000, 10000};  // cumulative share of the targets per wave
    int max_failure_bp = 500;            // halt when failed / sent passes this (basis points)
    Selector select;
    int64_t wave_timeout_ms = 30 * 60 * 1000;  // a sent target not judged good by then failed
    // How long a target must stay healthy at the new version, judged every round, before it
    // counts as succeeded; any round that finds it unhealthy starts the soak again. Always
    // shorter than wave_timeout_ms. From the API: 5 min, or half the wave timeout when that
    // is shorter; a rollout stored before soaks existed reads back as 0.
    int64_t soak_ms = kDefaultSoakMs;
    std::vector<std::string> canaries;   // hospital ids put first, in this order
    // Hospitals whose parameter gate the operator overrides ("*": every one).
    std::vector<std::string> override_params;
    bool require_probes = false;         // success needs a probe summary, not only no failing probe

    bool overrides(const std::string& hospital_id) const;
    nlohmann::json to_json() const;
};

// The spec from the API's body: {"release", "waves": "1%,10%,50%,100%", "maxFailure": "5%",
// "select": {"region", "dialect", "version"} | "region=south,dialect=x", "waveTimeout": "30m",
// "canaries": [ids], "overrideParams": [ids | "*"], "requireProbes": bool}. Unknown keys and
// values out of shape are BadInput "rollout.bad_spec" naming the field.
Result<RolloutSpec> spec_from_json(const nlohmann::json& body);
// "1%,10%,50%,100%" -> {100, 1000, 5000, 10000}; "0.5%" -> 50.
Result<std::vector<int>> parse_waves(const std::string& text);
// "5%" -> 500; "0%" (any failure halts) -> 0.
Result<int> parse_percent_bp(const std::string& text, const std::string& field);
// "30m", "90s", "2h", "500ms" -> milliseconds, within [min_ms, max_ms].
Result<int64_t> parse_duration_ms(const std::string& text, const std::string& field, int64_t min_ms = kMinWaveTimeoutMs,
                                  int64_t max_ms = kMaxWaveTimeoutMs);
// "region=south,dialect=hl7v2-mllp".
Result<Selector> parse_selector(const std::string& text);

struct Target {
    std::string hospital_id;
    int wave = 0;  // 0-based
    TargetState state = TargetState::Pending;
    std::string from_version;      // its version when the rollout chose it, then when its wave started
    std::string reason;            // why it failed, is held, refused or superseded; a note otherwise
    nlohmann::json params_problems = nlohmann::json::array();  // held: [{"parameter", "problem"}]
    int64_t sent_ms = 0;           // release.install sent (0: not sent)
    int64_t deadline_ms = 0;       // judged failed when not good by then
    int64_t session_at_send = 0;   // the registry's session for it when sent: success needs a newer one
    int64_t seen_new_ms = 0;       // first seen at the new version in a newer session (0: not yet)
    int64_t healthy_since_ms = 0;  // healthy at the new version in every round since (0: not now)
    int64_t judged_ms = 0;
    std::string task_id;           // of release.install

    nlohmann::json to_json() const;
    static Result<Target> from_json(const nlohmann::json& j);
};

struct WaveFigures {
    int size = 0, pending = 0, checking = 0, installing = 0, succeeded = 0, failed = 0, held = 0, refused = 0,
        superseded = 0;
};

struct Rollout {
    std::string id;
    RolloutSpec spec;
    RolloutState state = RolloutState::Running;
    std::string created_by;        // "role:subject" of the operator's token
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
    int current_wave = -1;         // the last wave started (-1: none yet)
    int64_t wave_started_ms = 0;
    std::string halt_reason;       // Halted: which hospitals, why; Aborted: who
    std::string superseded_by;     // the newest rollout that took targets from this one
    std::vector<Target> targets;

    int wave_count() const { return static_cast<int>(spec.waves_bp.size()); }
    WaveFigures figures(int wave) const;  // -1: every wave
    // Targets sent release.install (not superseded since): the denominator of the threshold.
    int sent() const;
    int failed() const;
    // The summary (progress per wave, counts); with `targets`, every target too.
    nlohmann::json to_json(bool with_targets) const;
    static Result<Rollout> from_json(const nlohmann::json& j);
};

}  // namespace hisgate::controlplane::rollout
