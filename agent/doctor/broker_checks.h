// The broker, checked in the order a connection fails, so the first failing row is the
// thing to fix (later rows are left out until it passes):
//   broker.reachable    a TCP connection to broker.uri's host and port opens
//   broker.tls          ssl://: the TLS handshake completes and the broker's certificate
//                       verifies against broker.ca_file for the host in broker.uri
//                       (tcp://: WARN, the link is not encrypted)
//   broker.credentials  an MQTT 5 CONNECT with broker.username and the password file is
//                       accepted; CONNACK 0x86/0x87 (bad user name or password / not
//                       authorised) is told apart from every other refusal
// The doctor connects with its own client id, so a running agent is not disconnected.
#pragma once

#include <string>

#include "agent/doctor/finding.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent::doctor {

// `password_file`: as the config names it, for the fix text. `hospital_id`: empty when
// the parameter file is not valid (the user name is then not compared with it).
Findings check_broker(const MqttOptions& broker, const std::string& hospital_id, const std::string& password_file);

}  // namespace hisgate::agent::doctor
