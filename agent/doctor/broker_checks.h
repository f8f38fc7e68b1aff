// The broker, checked in the order a connection fails, so the first failing row is the
// thing to fix (later rows are left out until it passes):
//   broker.reachable    a TCP connection to broker.uri's host and port opens
//   broker.tls          ssl://: the TLS handshake completes and the broker's certificate
//                       verifies against broker.ca_file for the host in broker.uri
//                       (tcp://: WARN, the link is not encrypted)
//   broker.credentials  an MQTT 5 CONNECT with broker.username and the password file is
//                       accepted; CONNACK 0x86/0x87 (bad user name or password / not
//                       authorised) is told apart from every other refusal
// hisgate's broker ties each client id to its user name (use_username_as_clientid), so a
// login with the agent's credentials takes the agent's own session: a running agent would
// be thrown off. So while the agent runs (its /metrics answers with hisgate_mqtt_connected)
// the doctor does not log in: the running agent's connection is the proof of the
// credentials (OK when connected, FAIL when not, with the fix). Only a stopped agent's
// credentials are tried by a login of the doctor's own (the control plane re-sends every
// deferred request until the agent stores it, so the session the login replaces loses
// nothing that matters).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "agent/doctor/finding.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent::doctor {

// `password_file`: as the config names it, for the fix text. `hospital_id`: empty when
// the parameter file is not valid (the user name is then not compared with it).
// `agent_metrics`: where the agent serves /metrics (host, port), asked first.
Findings check_broker(const MqttOptions& broker, const std::string& hospital_id, const std::string& password_file,
                      const std::optional<std::pair<std::string, uint16_t>>& agent_metrics = std::nullopt);

}  // namespace hisgate::agent::doctor
