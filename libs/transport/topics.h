// The MQTT topic scheme. Everything lives under hisgate/v1/. A hospital's agent publishes
// only inside hisgate/v1/hospitals/<hospital id>/ (the broker ACL enforces it), so each
// hospital's subtree is its own:
//
//   hisgate/v1/hospitals/<hid>/request                 control plane -> agent (requests)
//   hisgate/v1/hospitals/<hid>/response/<instance>     agent -> the control plane instance that asked
//   hisgate/v1/hospitals/<hid>/event                   agent -> control plane (heartbeats, changes)
//   hisgate/v1/hospitals/<hid>/state                   retained birth; last will says offline
//   hisgate/v1/hospitals/<hid>/vitals                  agent -> control plane (bedside monitors' samples and alarms, batched)
//
// Control plane instances share event work through $share/<group>/... subscriptions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hisgate::topics {

inline constexpr std::string_view kRoot = "hisgate/v1/hospitals/";

std::string request(std::string_view hospital_id);
std::string response(std::string_view hospital_id, std::string_view instance_id);
std::string event(std::string_view hospital_id);
std::string state(std::string_view hospital_id);
// Its own topic, not the event topic: a stream of its own volume, which the control plane
// reads apart from events (docs/vitals.md).
std::string vitals(std::string_view hospital_id);

// Subscription filters for the control plane.
std::string all_states();                                   // hisgate/v1/hospitals/+/state
std::string all_vitals();                                   // hisgate/v1/hospitals/+/vitals
std::string all_responses(std::string_view instance_id);    // hisgate/v1/hospitals/+/response/<instance>
std::string every_response();                               // hisgate/v1/hospitals/+/response/+
std::string shared_events(std::string_view group);          // $share/<group>/hisgate/v1/hospitals/+/event

// A response topic an agent may publish to: exactly hisgate/v1/hospitals/<hid>/response/
// <instance>, where the instance is 1..64 of [A-Za-z0-9._-] (so no wildcard, no level
// beyond it, no NUL), at most kMaxResponseTopic bytes. Anything else is refused when a
// request is admitted: the broker would disconnect the agent for a wildcard, or refuse
// the answer, and the answer would block the outbox.
inline constexpr std::size_t kMaxResponseTopic = 256;
bool valid_response_topic(std::string_view topic, std::string_view hospital_id);

// The hospital id a topic belongs to, or nullopt if the topic is not under the root.
std::optional<std::string> hospital_of(std::string_view topic);

// Hospital ids appear in topics, so they are restricted to [A-Za-z0-9_-]{1,64}.
bool valid_hospital_id(std::string_view id);

}  // namespace hisgate::topics
