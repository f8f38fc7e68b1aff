// The control plane's HTTP API against idle clients and malformed requests (issue 12
// item 5), with the real processes.
#include <catch2/catch.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/support/raw_socket.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
nlohmann::json body_of(const std::string& response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(response.substr(at + 4), nullptr, false);
}

// `request` with an Authorization header for `token` after its request line.
std::string with_token(const std::string& request, const std::string& token) {
    auto eol = request.find("\r\n");
    return request.substr(0, eol + 2) + "Authorization: Bearer " + token + "\r\n" + request.substr(eol + 2);
}

std::string send_raw(uint16_t port, const std::string& token, const std::string& request, bool head = false) {
    test::RawSocket s(port);
    if (!s.send(with_token(request, token))) return "";
    return s.read_response(10s, head);
}
}  // namespace

TEST_CASE("http attack: 100 idle connections leave the API answering others") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    std::vector<std::unique_ptr<test::RawSocket>> idle;
    for (int i = 0; i < 100; ++i) {
        idle.push_back(std::make_unique<test::RawSocket>(sys.api_port()));
        REQUIRE(idle.back()->connected());
        if (i % 2) REQUIRE(idle.back()->send("GET /api/v1/hospitals HTTP/1.1\r\nHost: t\r\n"));  // never finished
    }
    // Another client is answered before the server's own read timeout (5 s) frees anything.
    test::RawSocket other(sys.api_port(), "127.0.0.2");
    REQUIRE(other.send(with_token("GET /api/v1/hospitals HTTP/1.1\r\nHost: t\r\n\r\n", sys.token("operator", "t"))));
    auto reply = other.read_response(4s);
    INFO(reply);
    REQUIRE(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(body_of(reply)["hospitals"][0]["hospitalId"] == "H001");
    CHECK(sys.controlplane().running());
}

TEST_CASE("http attack: framing errors get the right status, reason and error body") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();
    const std::string token = sys.token("operator", "t");

    auto wrong_method = send_raw(port, token, "POST /api/v1/hospitals HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CHECK(wrong_method.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(wrong_method.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
    CHECK(body_of(wrong_method)["code"] == "http.method_not_allowed");
    auto get_booking = send_raw(port, token, "GET /api/v1/hospitals/H001/appointments HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(get_booking.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(get_booking.find("\r\nAllow: POST\r\n") != std::string::npos);

    auto head = send_raw(port, token, "HEAD /api/v1/hospitals HTTP/1.1\r\nHost: t\r\n\r\n", /*head=*/true);
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());

    std::string big(70 * 1024, ' ');
    auto too_large = send_raw(port, token, "POST /api/v1/hospitals/H001/appointments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
    CHECK(too_large.rfind("HTTP/1.1 413 Request Entity Too Large\r\n", 0) == 0);
    CHECK(body_of(too_large)["code"] == "http.body_too_large");

    // Found by fuzz/api_fuzz.cpp: a path that is not UTF-8, echoed in the error message,
    // made the JSON writer throw, and the caller got 500 instead of 404.
    auto not_utf8 = send_raw(port, token, "GET /api/v1/nowhere/\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n");
    INFO(not_utf8);
    CHECK(not_utf8.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(body_of(not_utf8)["code"] == "http.not_found");

    auto bad_uri = send_raw(port, token, "GET /api/v1/hospitals/H001/reports/%zz HTTP/1.1\r\nHost: t\r\n\r\n");
    INFO(bad_uri);
    CHECK(bad_uri.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    auto doc = body_of(bad_uri);
    CHECK(doc["code"] == "http.bad_uri");
    CHECK(doc["traceId"].get<std::string>().size() == 32);
    CHECK(sys.get("/metrics").body.find("hisgate_http_requests_total{route=\"bad_uri\",status=\"400\"} 1") != std::string::npos);
    CHECK(test::read_file(sys.log_dir() + "/controlplane-cp1.log").find("api.bad_uri") != std::string::npos);
    CHECK(sys.controlplane().running());
}
