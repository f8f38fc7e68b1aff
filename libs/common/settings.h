// Configuration sections every program shares: "broker" (MQTT) and "log".
#pragma once

#include <string>

#include "common/config.h"
#include "common/log.h"

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

}  // namespace hisgate
