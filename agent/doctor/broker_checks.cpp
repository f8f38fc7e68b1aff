#include "agent/doctor/broker_checks.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <mqtt/async_client.h>
#include <optional>

#include "common/trace.h"

namespace hisgate::agent::doctor {

namespace {

constexpr auto kTimeout = std::chrono::seconds(5);

struct HostPort {
    std::string host;
    uint16_t port = 0;
    bool tls = false;
};

std::optional<HostPort> parse_uri(const std::string& uri) {
    HostPort hp;
    std::string rest;
    if (uri.rfind("ssl://", 0) == 0) hp.tls = true, rest = uri.substr(6);
    else if (uri.rfind("tcp://", 0) == 0) rest = uri.substr(6);
    else return std::nullopt;
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
        hp.host = rest;
        hp.port = hp.tls ? 8883 : 1883;
    } else {
        hp.host = rest.substr(0, colon);
        try {
            int port = std::stoi(rest.substr(colon + 1));
            if (port < 1 || port > 65535) return std::nullopt;
            hp.port = static_cast<uint16_t>(port);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
    if (hp.host.empty()) return std::nullopt;
    return hp;
}

std::string where(const HostPort& hp) { return hp.host + ":" + std::to_string(hp.port); }

Result<Poco::Net::StreamSocket> open_tcp(const HostPort& hp) {
    try {
        Poco::Net::StreamSocket s;
        s.connect(Poco::Net::SocketAddress(hp.host, hp.port), Poco::Timespan(kTimeout.count(), 0));
        s.setReceiveTimeout(Poco::Timespan(kTimeout.count(), 0));
        s.setSendTimeout(Poco::Timespan(kTimeout.count(), 0));
        return s;
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "doctor.broker_unreachable", e.displayText());
    }
}

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += (out.empty() ? "" : "; ") + std::string(buf);
    }
    return out.empty() ? "no detail from OpenSSL" : out;
}

std::string subject_of(X509* cert) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
}

// A TLS handshake on a fresh connection, verifying the certificate chain against the CA
// file and the certificate's names against the host, as the agent's MQTT client does.
Finding tls_handshake(const HostPort& hp, const MqttOptions& o) {
    const std::string check = "broker.tls";
    std::string ca_fix = "set broker.ca_file to the CA certificate (PEM) that signed the broker's certificate; the platform operator has it";
    auto socket = open_tcp(hp);
    if (!socket) return fail(check, "cannot open a connection to " + where(hp) + ": " + socket.error().message, "see broker.reachable");
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) return fail(check, "OpenSSL could not start: " + openssl_errors(), "report this to the platform team");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
        return fail(check, "broker.ca_file " + o.ca_file + " is not a readable PEM certificate: " + openssl_errors(), ca_fix);
    if (!o.cert_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx.get()) != 1)
            return fail(check, "client certificate broker.cert_file / broker.key_file cannot be used: " + openssl_errors(),
                        "set broker.cert_file and broker.key_file to a matching PEM certificate and key");
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), socket->impl()->sockfd());
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, hp.host.c_str(), ip) == 1 || inet_pton(AF_INET6, hp.host.c_str(), ip) == 1;
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), hp.host.c_str());
    else {
        SSL_set_tlsext_host_name(ssl.get(), hp.host.c_str());
        SSL_set1_host(ssl.get(), hp.host.c_str());
    }
    if (SSL_connect(ssl.get()) != 1) {
        long verify = SSL_get_verify_result(ssl.get());
        if (verify != X509_V_OK)
            return fail(check, "the broker's certificate is not trusted: " + std::string(X509_verify_cert_error_string(verify)) +
                                   " (checked against broker.ca_file " + o.ca_file + " for host " + hp.host + ")",
                        verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
                            ? "use in broker.uri the name the broker's certificate is issued for (ask the platform operator)"
                            : ca_fix);
        return fail(check, "TLS handshake with " + where(hp) + " failed: " + openssl_errors(),
                    "check that " + where(hp) + " is the broker's TLS port (ssl://) and that no proxy intercepts TLS");
    }
    std::string detail = std::string(SSL_get_version(ssl.get())) + "; certificate verified against " + o.ca_file;
    if (X509* cert = SSL_get1_peer_certificate(ssl.get())) {
        detail += ": " + subject_of(cert);
        X509_free(cert);
    }
    SSL_shutdown(ssl.get());
    return ok(check, detail);
}

// MQTT 5 CONNACK reason codes meaning the login itself was refused.
constexpr int kBadUserNameOrPassword = 0x86, kNotAuthorized = 0x87;

Finding mqtt_login(const MqttOptions& o, const std::string& hospital_id, const std::string& password_file) {
    const std::string check = "broker.credentials";
    auto builder = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_5)
                       .clean_start(true)
                       .keep_alive_interval(std::chrono::seconds(10))
                       .connect_timeout(kTimeout);
    if (!o.username.empty()) builder.user_name(o.username).password(o.password);
    if (o.uri.rfind("ssl://", 0) == 0) {
        auto ssl = mqtt::ssl_options_builder().trust_store(o.ca_file).enable_server_cert_auth(true).verify(true);
        if (!o.cert_file.empty()) ssl.key_store(o.cert_file).private_key(o.key_file);
        builder.ssl(ssl.finalize());
    }
    try {
        // Its own client id: reusing the agent's would disconnect a running agent. (A broker
        // that ties client ids to user names, as hisgate's does, gives it the agent's id all
        // the same: docs/doctor.md says to run the doctor while the agent is stopped.)
        mqtt::async_client client(o.uri, "doctor-" + (hospital_id.empty() ? "" : hospital_id + "-") + random_hex(4),
                                  mqtt::create_options(MQTTVERSION_5));
        client.connect(builder.finalize())->wait();
        client.disconnect()->wait();
    } catch (const mqtt::exception& e) {
        // Paho C++ 1.2 reports an MQTT 5 CONNACK refusal as the return code, others as
        // the reason code: either names the CONNACK's reason.
        auto refused_login = [](int code) { return code == kBadUserNameOrPassword || code == kNotAuthorized; };
        int reason = refused_login(e.get_reason_code()) ? e.get_reason_code() : e.get_return_code();
        if (refused_login(reason))
            return fail(check,
                        "the broker refused the login of \"" + o.username + "\": " +
                            (reason == kBadUserNameOrPassword ? "bad user name or password (CONNACK reason 0x86)"
                                                              : "not authorized (CONNACK reason 0x87)"),
                        "check broker.username and the password in " + (password_file.empty() ? "broker.password_file" : password_file) +
                            " with the platform operator (the file holds the password alone, on its first line)");
        return fail(check, "the broker did not accept the MQTT 5 connection: " + std::string(e.what()),
                    "check that broker.uri names an MQTT 5 broker, and the broker's log");
    }
    if (o.username.empty())
        return warn(check, "logged in without a user name", "set broker.username to the hospital id and broker.password_file");
    if (!hospital_id.empty() && o.username != hospital_id)
        return warn(check, "logged in as \"" + o.username + "\", but the broker ACL confines each agent to the topics of the username, and this hospital is \"" +
                               hospital_id + "\"",
                    "set broker.username to " + hospital_id + " (or ask the platform operator to change the broker's ACL)");
    return ok(check, "logged in as \"" + o.username + "\" (MQTT 5)");
}

// What a running agent's /metrics says of its broker connection: 1 connected, 0 not;
// nothing when no agent answers there (not running, or not an agent).
std::optional<int> running_agent_connected(const std::string& host, uint16_t port) {
    try {
        Poco::Net::HTTPClientSession session(host, port);
        session.setTimeout(Poco::Timespan(2, 0));
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/metrics", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::istream& in = session.receiveResponse(res);
        if (res.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) return std::nullopt;
        std::string line;
        constexpr std::string_view kSeries = "hisgate_mqtt_connected ";
        for (int lines = 0; lines < 100000 && std::getline(in, line); ++lines)
            if (line.rfind(kSeries, 0) == 0) return line.compare(kSeries.size(), 1, "1") == 0 ? 1 : 0;
    } catch (const Poco::Exception&) {
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

}  // namespace

Findings check_broker(const MqttOptions& o, const std::string& hospital_id, const std::string& password_file,
                      const std::optional<std::pair<std::string, uint16_t>>& agent_metrics) {
    Findings out;
    auto hp = parse_uri(o.uri);
    if (!hp) {
        out.push_back(fail("broker.reachable", "broker.uri \"" + o.uri + "\" has no host and port", "write broker.uri as ssl://host:port"));
        return out;
    }
    auto started = std::chrono::steady_clock::now();
    auto socket = open_tcp(*hp);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (!socket) {
        out.push_back(fail("broker.reachable", "no TCP connection to " + where(*hp) + ": " + socket.error().message,
                           "check the host and port in broker.uri, DNS, and that the firewall lets this server connect out to " +
                               where(*hp)));
        return out;
    }
    socket->close();
    out.push_back(ok("broker.reachable", "TCP connection to " + where(*hp) + " opened"));
    out.back().millis = ms;
    if (hp->tls) {
        out.push_back(tls_handshake(*hp, o));
        if (out.back().status == Status::Fail) return out;
    } else {
        out.push_back(warn("broker.tls", "broker.uri is tcp://: the link to the broker is not encrypted",
                           "use ssl://host:port and set broker.ca_file (ask the platform operator for both)"));
    }
    auto running = agent_metrics ? running_agent_connected(agent_metrics->first, agent_metrics->second) : std::nullopt;
    if (running && *running == 1)
        out.push_back(ok("broker.credentials",
                         "the running agent is logged in as \"" + o.username +
                             "\" (its /metrics: hisgate_mqtt_connected 1); not logged in again, which would take over its session"));
    else if (running)
        out.push_back(fail("broker.credentials",
                           "the running agent is not connected to the broker (its /metrics: hisgate_mqtt_connected 0); "
                           "not logged in from here, which would take over its session",
                           "read the agent's log for mqtt.* lines (the broker's refusal, e.g. bad user name or password), "
                           "or stop the agent and run the doctor again to try the login"));
    else
        out.push_back(mqtt_login(o, hospital_id, password_file));
    return out;
}

}  // namespace hisgate::agent::doctor
