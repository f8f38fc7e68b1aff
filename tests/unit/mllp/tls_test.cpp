// MLLP over TLS (POCO NetSSL): certificates are made fresh by `openssl` for each run,
// never committed.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "hl7/ack.h"
#include "mllp/client.h"
#include "mllp/hl7_view.h"
#include "mllp/server.h"
#include "support.h"

using namespace std::chrono_literals;
using hisgate::mllp::Client;
using hisgate::mllp::ClientOptions;
using hisgate::mllp::Server;
using hisgate::mllp::ServerOptions;
using hisgate::mllp::testing::sample_message;

namespace {

void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("certificate setup failed: " + command);
}

// A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by
// it, and an unrelated CA that must not be trusted.
struct Pki {
    hisgate::mllp::testing::TempDir dir;
    std::string p(const char* name) const { return (dir.path() / name).string(); }

    Pki() {
        const std::string d = dir.path().string();
        for (const char* ca : {"ca", "other-ca"})
            run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=hisgate-test-" + std::string(ca) +
                " -keyout " + d + "/" + ca + ".key -out " + d + "/" + ca + ".pem");
        issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
        issue("client", "/CN=hisgate-test-client", "extendedKeyUsage=clientAuth");
    }

    void issue(const std::string& who, const std::string& subject, const std::string& extension) {
        const std::string d = dir.path().string();
        run("openssl req -newkey rsa:2048 -nodes -subj " + subject + " -keyout " + d + "/" + who + ".key -out " + d +
            "/" + who + ".csr");
        run("printf '" + extension + "\\n' > " + d + "/" + who + ".ext");
        run("openssl x509 -req -days 1 -in " + d + "/" + who + ".csr -CA " + d + "/ca.pem -CAkey " + d +
            "/ca.key -CAcreateserial -extfile " + d + "/" + who + ".ext -out " + d + "/" + who + ".pem");
    }

    ServerOptions server_options() const {
        ServerOptions o;
        o.tls = true;
        o.cert_file = p("server.pem");
        o.key_file = p("server.key");
        return o;
    }

    ClientOptions client_options(uint16_t port) const {
        ClientOptions o;
        o.port = port;
        o.tls = true;
        o.ca_file = p("ca.pem");
        o.max_attempts = 1;
        o.ack_timeout = 5s;
        return o;
    }
};

const Pki& pki() {
    static const Pki instance;
    return instance;
}

std::string tls_ack(std::string_view m) { return hisgate::hl7::ack_for(m); }

}  // namespace

TEST_CASE("TLS round trip with a verified server certificate", "[mllp][tls]") {
    Server server(pki().server_options(), tls_ack);
    REQUIRE(server.start().ok());
    Client client(pki().client_options(server.port()));
    for (const char* id : {"TLS-1", "TLS-2"}) {
        auto answer = client.send(sample_message(id));
        INFO(hisgate::mllp::testing::why(answer));
        REQUIRE(answer.ok());
        CHECK(hisgate::mllp::acknowledged_id(*answer) == id);
    }
}

TEST_CASE("a TLS client refuses a server certificate from an untrusted CA", "[mllp][tls]") {
    Server server(pki().server_options(), tls_ack);
    REQUIRE(server.start().ok());
    auto options = pki().client_options(server.port());
    options.ca_file = pki().p("other-ca.pem");
    Client client(options);
    auto answer = client.send(sample_message("UNTRUSTED"));
    INFO(hisgate::mllp::testing::why(answer));
    REQUIRE_FALSE(answer.ok());
    CHECK((answer.error().code == "mllp.connect_failed" || answer.error().code == "mllp.tls_untrusted_peer"));
}

TEST_CASE("a plain client gets no answer from a TLS server", "[mllp][tls]") {
    Server server(pki().server_options(), tls_ack);
    REQUIRE(server.start().ok());
    ClientOptions options;
    options.port = server.port();
    options.max_attempts = 1;
    options.ack_timeout = 2s;
    Client client(options);
    CHECK_FALSE(client.send(sample_message("PLAIN")).ok());
}

TEST_CASE("a server requiring client certificates accepts only clients that present one", "[mllp][tls]") {
    auto server_options = pki().server_options();
    server_options.client_ca_file = pki().p("ca.pem");
    Server server(server_options, tls_ack);
    REQUIRE(server.start().ok());

    Client anonymous(pki().client_options(server.port()));
    CHECK_FALSE(anonymous.send(sample_message("ANON")).ok());

    auto options = pki().client_options(server.port());
    options.cert_file = pki().p("client.pem");
    options.key_file = pki().p("client.key");
    Client identified(options);
    auto answer = identified.send(sample_message("MTLS"));
    INFO(hisgate::mllp::testing::why(answer));
    REQUIRE(answer.ok());
    CHECK(hisgate::mllp::acknowledged_id(*answer) == "MTLS");
}

TEST_CASE("a TLS server with a missing key file fails to start with a Config error", "[mllp][tls]") {
    auto options = pki().server_options();
    options.key_file = pki().p("absent.key");
    Server server(options, tls_ack);
    auto started = server.start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().cls == hisgate::ErrorClass::Config);
    CHECK(started.error().code == "tls.config");
}
