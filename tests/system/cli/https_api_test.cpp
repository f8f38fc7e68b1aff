// The control plane's API and a read replica over HTTPS (http.tls.*), with real processes:
// the CLI and the replica reach them through a CA file, plain HTTP and garbage at the TLS
// port are closed without harm, and bad TLS configuration stops the program with a clear
// error before it serves anything.
#include <catch2/catch.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <nlohmann/json.hpp>

#include "common/client_session.h"
#include "tests/support/certificates.h"
#include "tests/support/process.h"
#include "tests/support/replica.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

// A TLS endpoint on 127.0.0.1 trusting the test CA (`ca_file`, empty: the system's CAs).
HttpEndpoint https_endpoint(uint16_t port, const std::string& ca_file) {
    auto e = endpoint_from_url("https://127.0.0.1:" + std::to_string(port), ca_file);
    REQUIRE(e);
    return *e;
}

test::Captured run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), test::binary("cli/hisgate"));
    return test::run_capture(args, 60s);
}

// Bytes that are no TLS record, written and the socket closed.
void send_garbage_to(uint16_t port) {
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
    std::string junk(4096, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) & 0xff);
    s.sendBytes(junk.data(), static_cast<int>(junk.size()));
    s.close();
}

}  // namespace

TEST_CASE("https api: the control plane and a replica speak HTTPS only, reached through a CA file, and survive plain HTTP and garbage") {
    const std::string certs = test::make_temp_dir("https-api-certs");
    REQUIRE(test::make_test_certificates(certs, "api"));
    const std::string ca = certs + "/ca.crt";
    const nlohmann::json tls = {{"cert_file", certs + "/api.crt"}, {"key_file", certs + "/api.key"}};

    test::SystemOptions options;
    options.hospitals = {"H001"};
    options.controlplane_config = nlohmann::json{{"http", {{"tls", tls}}}}.dump();
    options.api_ca_file = ca;
    test::System sys(options);
    REQUIRE(sys.start());
    const std::string token = sys.token("operator", "ops-https");
    const std::map<std::string, std::string> bearer = {{"Authorization", "Bearer " + token}};
    auto api = https_endpoint(sys.api_port(), ca);

    // In-process client: the API answers over TLS, with HSTS (cookies Secure by default).
    auto health = test::http_get_at(api, "/healthz");
    CHECK(health.status == 200);
    auto listed = test::http_get_at(api, "/api/v1/hospitals", bearer);
    CHECK(listed.status == 200);
    CHECK(listed.headers.count("Strict-Transport-Security") == 1);
    REQUIRE(test::eventually([&] {
        auto h = test::http_get_at(api, "/api/v1/fleet/H001", bearer);
        return h.status == 200 && nlohmann::json::parse(h.body, nullptr, false).value("state", "") == "online";
    }, 30s));

    // Plain HTTP to the TLS port gets no HTTP answer; nor does a client that does not trust
    // the certificate; garbage is closed. The API serves on.
    CHECK(test::http_get(sys.api_port(), "/healthz").status == 0);
    CHECK(test::http_get_at(https_endpoint(sys.api_port(), ""), "/healthz").status == 0);
    for (int i = 0; i < 3; ++i) send_garbage_to(sys.api_port());
    CHECK(test::http_get_at(api, "/healthz").status == 200);

    // The CLI: an https URL with --ca-file, or "ca_file" in its config file.
    const std::string token_file = sys.dir() + "/etc/cli-https.token";
    test::write_file(token_file, token + "\n");
    const std::string url = "https://127.0.0.1:" + std::to_string(sys.api_port());
    auto fleet = run_cli({"fleet", "--json", "--url", url, "--token-file", token_file, "--ca-file", ca});
    INFO(fleet.output);
    REQUIRE(fleet.status == 0);
    CHECK(fleet.output.find("\"H001\"") != std::string::npos);
    const std::string cli_config = sys.dir() + "/etc/cli-https.json";
    test::write_file(cli_config, nlohmann::json{{"url", url}, {"token_file", token_file}, {"ca_file", ca}}.dump());
    CHECK(run_cli({"fleet", "--config", cli_config}).status == 0);
    auto untrusted = run_cli({"fleet", "--url", url, "--token-file", token_file});
    CHECK(untrusted.status != 0);
    CHECK(untrusted.output.find("cli.unreachable") != std::string::npos);
    auto plain = run_cli({"fleet", "--url", "http://127.0.0.1:" + std::to_string(sys.api_port()), "--token-file", token_file});
    CHECK(plain.status != 0);
    auto bad_scheme = run_cli({"fleet", "--url", "ftp://127.0.0.1:1", "--token-file", token_file});
    CHECK(bad_scheme.status != 0);
    CHECK(bad_scheme.output.find("https://HOST:PORT") != std::string::npos);

    // A replica follows the primary over HTTPS and serves search over HTTPS itself.
    test::Replica replica;
    const nlohmann::json replica_tls = {{"primary", {{"tls", true}, {"ca_file", ca}}}, {"http", {{"tls", tls}}}};
    REQUIRE(replica.start(sys, "r-tls", replica_tls.dump()));
    auto search = https_endpoint(replica.port, ca);
    REQUIRE(test::eventually([&] {
        auto status = test::http_get_at(search, "/api/v1/replica");
        auto doc = nlohmann::json::parse(status.body, nullptr, false);
        return status.status == 200 && doc.is_object() && doc.value("position", int64_t{-1}) > 0;
    }, 30s));
    auto hospitals = test::http_get_at(search, "/api/v1/search/hospitals");
    CHECK(hospitals.status == 200);
    CHECK(hospitals.body.find("H001") != std::string::npos);
    CHECK(test::http_get(replica.port, "/api/v1/replica").status == 0);
}

TEST_CASE("https api: a missing certificate or half a key pair stops the program with an error naming it") {
    const std::string dir = test::make_temp_dir("https-api-bad");
    // The replica reads its TLS files before it serves: exit 2, the error says why.
    const std::string config = dir + "/replica.json";
    test::write_file(config, nlohmann::json{{"db", dir + "/r.db"},
                                            {"primary", {{"port", 1}, {"token_file", ""}}},
                                            {"http", {{"port", 0}, {"tls", {{"cert_file", dir + "/absent.crt"}, {"key_file", dir + "/absent.key"}}}}}}
                                 .dump());
    auto missing = test::run_capture({test::binary("controlplane/replica/hisgate-replica"), "--config", config}, 30s);
    INFO(missing.output);
    CHECK(missing.status == 2);
    CHECK(missing.output.find("cannot read " + dir + "/absent.crt") != std::string::npos);

    test::write_file(config, nlohmann::json{{"db", dir + "/r.db"},
                                            {"primary", {{"port", 1}, {"token_file", ""}}},
                                            {"http", {{"port", 0}, {"tls", {{"cert_file", dir + "/only.crt"}}}}}}
                                 .dump());
    auto half = test::run_capture({test::binary("controlplane/replica/hisgate-replica"), "--config", config}, 30s);
    INFO(half.output);
    CHECK(half.status == 2);
    CHECK(half.output.find("http.tls.key_file") != std::string::npos);
}
