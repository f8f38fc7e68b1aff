// The HTTP(S) exchange the REST and SOAP adapters and the doctor share, against real
// servers on loopback: TLS verified against a CA file, what a request carries, and the
// contract's error classes where the adapter tests cannot reach (TLS, a slow answer).
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>

#include <map>
#include <thread>

#include "adapters/http/his_http.h"
#include "common/http_server.h"
#include "common/tls_context.h"
#include "tests/support/certificates.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

class RouteHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit RouteHandler(HttpRoute& route) : route_(route) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override { route_(req, res); }

private:
    HttpRoute& route_;
};

class RouteFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit RouteFactory(HttpRoute& route) : route_(route) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RouteHandler(route_);
    }

private:
    HttpRoute& route_;
};

// An HTTPS server on 127.0.0.1 with a certificate from its own throwaway CA (dir/ca.crt).
struct HttpsServer {
    std::string dir = test::make_temp_dir("his-https");
    HttpRoute route;
    std::unique_ptr<Poco::Net::HTTPServer> server;
    uint16_t port = 0;

    explicit HttpsServer(HttpRoute r) : route(std::move(r)) {
        REQUIRE(test::make_test_certificates(dir, "his"));
        auto tls = make_server_tls({dir + "/his.crt", dir + "/his.key", ""});
        REQUIRE(tls.ok());
        Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, tls.value());
        port = socket.address().port();
        server = std::make_unique<Poco::Net::HTTPServer>(new RouteFactory(route), socket, new Poco::Net::HTTPServerParams);
        server->start();
    }
    ~HttpsServer() { server->stopAll(true); }
    std::string url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port) + path; }
};

http::HttpOptions options(std::string ca_file = "") {
    http::HttpOptions o;
    o.code_prefix = "t";
    o.connect_timeout = 1000ms;
    o.answer_timeout = 1000ms;
    o.ca_file = std::move(ca_file);
    return o;
}

}  // namespace

TEST_CASE("his http: HTTPS to a HIS whose certificate the CA file vouches for, with every header") {
    std::map<std::string, std::string> seen;
    std::string seen_body;
    HttpsServer his([&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
        for (const auto& [k, v] : req) seen[k] = v;
        seen["method"] = req.getMethod();
        seen["uri"] = req.getURI();
        seen_body.assign(std::istreambuf_iterator<char>(req.stream()), {});
        send_text(res, 201, "application/json", R"({"ok": true})");
    });
    auto o = options(his.dir + "/ca.crt");
    o.auth_header = "X-Api-Key";
    o.auth_value = "s3cret";
    http::HttpRequest r{"POST", his.url("/his/v1/payments/" + http::path_segment("A/B 1") + "?x=1"), R"({"amount": 5})",
                        "0123456789abcdef", {{"Accept", "application/json"}, {"Content-Type", "application/json"}}};
    auto a = http::http_exchange(o, r);
    if (!a) FAIL(a.error().describe());
    CHECK(a->status == 201);
    CHECK(a->body == R"({"ok": true})");
    CHECK(a->header("content-type") == "application/json");
    CHECK_FALSE(a->header("Date").empty());
    CHECK(seen["method"] == "POST");
    CHECK(seen["uri"] == "/his/v1/payments/A%2FB%201?x=1");  // sent as written, not re-encoded
    CHECK(seen["X-Request-Id"] == "0123456789abcdef");
    CHECK(seen["X-Api-Key"] == "s3cret");
    CHECK(seen["Accept"] == "application/json");
    CHECK(seen["Content-Type"] == "application/json");
    CHECK(seen_body == R"({"amount": 5})");
}

TEST_CASE("his http: a HIS certificate from another CA is refused, and the secret is in no error") {
    HttpsServer his([](auto&, auto& res) { send_text(res, 200, "text/plain", "should not be read"); });
    std::string other = test::make_temp_dir("other-ca");
    REQUIRE(test::make_test_certificates(other, "unused"));
    auto o = options(other + "/ca.crt");
    o.auth_header = "X-Api-Key";
    o.auth_value = "s3cret";
    auto a = http::http_exchange(o, {"GET", his.url("/"), "", "", {}});
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().cls == ErrorClass::Unavailable);
    CHECK(a.error().code == "t.transport_failed");
    CHECK_THAT(a.error().describe(), !Catch::Contains("s3cret"));
}

TEST_CASE("his http: a TLS handshake that never completes is a failed connection, not a timeout") {
    // Accepted by the kernel's backlog, never by anyone: nothing can have reached the HIS.
    Poco::Net::ServerSocket mute(Poco::Net::SocketAddress("127.0.0.1", 0));
    auto o = options();
    o.connect_timeout = 300ms;
    auto a = http::http_exchange(o, {"GET", "https://127.0.0.1:" + std::to_string(mute.address().port()) + "/", "", "", {}});
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().cls == ErrorClass::Unavailable);
    CHECK(a.error().code == "t.connect_failed");
}

TEST_CASE("his http: the answer timeout bounds the whole answer, not each read") {
    // Headers at once, then one byte every 100 ms: each read is quick, the answer is not.
    HttpServer his("127.0.0.1", 0, [](auto&, Poco::Net::HTTPServerResponse& res) {
        res.setContentLength(20);
        res.setContentType("text/plain");
        auto& out = res.send();
        for (int i = 0; i < 20 && out; ++i) {
            out << 'x' << std::flush;
            std::this_thread::sleep_for(100ms);
        }
    });
    REQUIRE(his.start().ok());
    auto o = options();
    o.answer_timeout = 500ms;
    auto started = std::chrono::steady_clock::now();
    auto a = http::http_exchange(o, {"GET", "http://127.0.0.1:" + std::to_string(his.port()) + "/", "", "", {}});
    auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().cls == ErrorClass::Timeout);
    CHECK(a.error().code == "t.timeout");
    CHECK(took < 1500ms);
}

TEST_CASE("his http: a URL that is not http(s) is refused before anything is sent") {
    auto a = http::http_exchange(options(), {"GET", "ftp://127.0.0.1/", "", "", {}});
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == "t.transport_failed");
    CHECK(http::path_segment("Zz0-._~ /?%é") == "Zz0-._~%20%2F%3F%25%C3%A9");
}
