// Configuration sections every program shares: "broker" (MQTT), "log", and "http.tls" of
// the programs that serve HTTP to other machines.
#pragma once

#include <optional>
#include <string>

#include "common/config.h"
#include "common/log.h"
#include "common/tls_context.h"

namespace hisgate {

struct BrokerSettings {
    std::string uri, username, password, ca_file, cert_file, key_file;
};

// Reads broker.uri (required; tcp:// or ssl://), broker.username, broker.password_file
// (the password is read from that file, never written in the config), broker.ca_file,
// broker.cert_file, broker.key_file.
BrokerSettings read_broker_settings(ConfigReader& c);

extern const char* kBrokerConfigHelp;

struct LogSettings {
    std::string file;  // empty = stderr
    log::Level level = log::Level::Info;
};

// Reads log.file and log.level (debug | info | warn | error).
LogSettings read_log_settings(ConfigReader& c);

extern const char* kLogConfigHelp;

// Reads http.tls.cert_file, http.tls.key_file (both or neither) and http.tls.client_ca_file;
// nullopt: plain HTTP.
std::optional<TlsServerFiles> read_http_tls(ConfigReader& c);

extern const char* kHttpTlsConfigHelp;

}  // namespace hisgate
