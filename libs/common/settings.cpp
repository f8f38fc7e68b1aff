#include "common/settings.h"

#include <fstream>

namespace hisgate {

const char* kBrokerConfigHelp = R"(  broker.uri            string, required  tcp://host:port, or ssl://host:port for TLS
  broker.username       string            MQTT username (the broker ACL keys on it)
  broker.password_file  string            file holding the MQTT password (never put it in this file)
  broker.ca_file        string            TLS: CA certificate that signed the broker's certificate
  broker.cert_file      string            TLS: client certificate (optional)
  broker.key_file       string            TLS: client key (optional)
)";

BrokerSettings read_broker_settings(ConfigReader& c) {
    BrokerSettings b;
    b.uri = c.string("broker.uri");
    if (!b.uri.empty() && b.uri.rfind("tcp://", 0) != 0 && b.uri.rfind("ssl://", 0) != 0)
        c.problem("broker.uri", "a URI starting with tcp:// or ssl://", "\"" + b.uri + "\"");
    b.username = c.string("broker.username", "");
    std::string password_file = c.string("broker.password_file", "");
    if (!password_file.empty()) {
        std::ifstream in(password_file);
        if (!in || !std::getline(in, b.password))
            c.problem("broker.password_file", "a readable file holding the password", "\"" + password_file + "\"");
    }
    b.ca_file = c.string("broker.ca_file", "");
    b.cert_file = c.string("broker.cert_file", "");
    b.key_file = c.string("broker.key_file", "");
    if (b.uri.rfind("ssl://", 0) == 0 && b.ca_file.empty())
        c.problem("broker.ca_file", "a CA file when broker.uri is ssl://", "nothing");
    return b;
}

const char* kLogConfigHelp = R"(  log.file              string            JSON-lines log file (default: stderr)
  log.level             string            debug | info | warn | error (default info)
)";

LogSettings read_log_settings(ConfigReader& c) {
    LogSettings s;
    s.file = c.string("log.file", "");
    std::string level = c.string("log.level", "info");
    if (level == "debug") s.level = log::Level::Debug;
    else if (level == "info") s.level = log::Level::Info;
    else if (level == "warn") s.level = log::Level::Warn;
    else if (level == "error") s.level = log::Level::Error;
    else c.problem("log.level", "one of debug, info, warn, error", "\"" + level + "\"");
    return s;
}

const char* kHttpTlsConfigHelp = R"(  http.tls.cert_file, http.tls.key_file  string  PEM files: HTTPS only (TLS 1.2+); plain HTTP to
                        the port is closed at the handshake (default: none, plain HTTP, for a
                        TLS-terminating proxy in front)
  http.tls.client_ca_file string          PEM: clients must present a certificate it signed
)";

std::optional<TlsServerFiles> read_http_tls(ConfigReader& c) {
    TlsServerFiles files{c.string("http.tls.cert_file", ""), c.string("http.tls.key_file", ""),
                         c.string("http.tls.client_ca_file", "")};
    if (files.cert_file.empty() != files.key_file.empty())
        c.problem(files.cert_file.empty() ? "http.tls.cert_file" : "http.tls.key_file",
                  "a PEM file, with the other of http.tls.cert_file and http.tls.key_file", "nothing");
    if (files.cert_file.empty() && files.key_file.empty()) return std::nullopt;
    return files;
}

}  // namespace hisgate
