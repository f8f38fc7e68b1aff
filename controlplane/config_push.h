// Remote configuration and feature flags, the control plane's side (issue 16 items 7 and 8;
// docs/config-push.md). The agent's side is agent/config_apply.h.
//
//   POST   /api/v1/config/push                     {"target", "params", "mode"?: "standard"|"now"}
//   GET    /api/v1/hospitals/{hid}/config          the hospital's pushed sets, newest first
//   GET    /api/v1/hospitals/{hid}/config/{N}      one set, with its parameters
//   POST   /api/v1/hospitals/{hid}/config/rollback {"to"?: N}: set N pushed again as a new version, now
//   GET    /api/v1/flags                           every flag, and for each online hospital the flags on for it
//   PUT    /api/v1/flags/{name}                    {"hospitals"?, "selector"?, "percent"?, "minVersion"?}
//   DELETE /api/v1/flags/{name}
// Staff read; operators, admins and services write (a viewer's write and a patient's
// anything are 403).
//
// A push's target is a hospital id, or a selector "region=south[,dialect=hl7v2-mllp]" (the
// fleet registry's hospitals that match). To one hospital, `params` is the whole set; to a
// selector, it is a JSON merge patch (RFC 7386) over each hospital's newest applied set
// (a hospital without one is listed as skipped: push it a whole set first). Each hospital's
// set is stored first (status "sent"), then sent as `config.apply`; the answer moves the
// status on. Standard mode ends at "queued"; the agent's later `config.applied` event
// (take_applied) records the outcome. A real-time push's answer is the outcome itself.
//
// Flags are delivered whole (`config.flags`) to every online hospital after each change;
// the control plane asks the same question of them (enabled()), deciding on the version
// and region the fleet registry holds for the hospital.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "common/clock.h"
#include "common/error.h"
#include "config-params/feature_flags.h"
#include "controlplane/api_route.h"
#include "controlplane/config_store.h"
#include "controlplane/events/agent_event.h"
#include "controlplane/hospital_registry.h"

namespace hisgate::controlplane {

// The largest set pushed (its canonical JSON): the request to the agent carries it within
// limits::kRequestBytes with room for the envelope.
inline constexpr std::size_t kMaxPushedSetBytes = 56 * 1024;
// The most hospitals one push reaches.
inline constexpr std::size_t kMaxPushTargets = 1000;

class ConfigPush : public params::Flags {
public:
    // Sends one request to a hospital's agent and returns its answer (Router::ask).
    using Ask = std::function<Result<nlohmann::json>(const std::string& hospital_id, const std::string& type,
                                                     const nlohmann::json& body)>;
    ConfigPush(ConfigStore& store, const HospitalRegistry& registry, Ask ask, const Clock& clock)
        : store_(store), registry_(registry), ask_(std::move(ask)), clock_(clock) {}

    // {"results": [{"hospitalId", "version"?, "status", "detail"?}]}. Errors: BadInput
    // "config.bad_target" / "config.too_large" / "config.bad_mode", NotFound "hospital.unknown".
    Result<nlohmann::json> push(const std::string& target, const nlohmann::json& params, const std::string& mode,
                                const std::string& who);
    // Without `to`: the newest applied set before the one applied now. NotFound
    // "config.nothing_to_roll_back" / "config.unknown_version".
    Result<nlohmann::json> rollback(const std::string& hospital_id, std::optional<int64_t> to, const std::string& who);
    Result<nlohmann::json> history(const std::string& hospital_id, int limit = 50);
    Result<nlohmann::json> version(const std::string& hospital_id, int64_t version);
    // A `config.applied` event: a standard-mode set's outcome at the quiet window.
    void take_applied(const events::AgentEvent& e);

    Result<nlohmann::json> set_flag(const std::string& name, nlohmann::json body, const std::string& who);
    Result<nlohmann::json> remove_flag(const std::string& name);
    Result<nlohmann::json> list_flags();
    // params::Flags, for the control plane's own features.
    bool enabled(std::string_view name, const std::string& hospital_id) const override;

    // The HTTP routes (controlplane/api.cpp asks route_of, then handle with the body read).
    static std::optional<ApiRoute> route_of(const std::vector<std::string>& parts);
    // The routes route_of matches (controlplane/api_route.h).
    static const std::vector<RouteTemplate>& routes();
    Result<nlohmann::json> handle(const std::string& route, const auth::AccessToken& who,
                                  const std::vector<std::string>& parts, const nlohmann::json& body);

private:
    // Stores `set` as the hospital's next version and sends it; the stored record after the answer.
    nlohmann::json send(const std::string& hospital_id, const nlohmann::json& set, const std::string& mode,
                        const std::string& who, int64_t rollback_of);
    std::optional<params::FlagTarget> target_of(const std::string& hospital_id) const;
    nlohmann::json deliver_flags(const params::FlagSet& flags);

    ConfigStore& store_;
    const HospitalRegistry& registry_;
    Ask ask_;
    const Clock& clock_;
    mutable std::mutex flags_mu_;
    mutable std::optional<params::FlagSet> flags_cache_;  // the store's, read once, replaced on each change
};

}  // namespace hisgate::controlplane
