// The HTTP server against idle, slow and malformed clients, over real loopback sockets.
#include <catch2/catch.hpp>

#include <Poco/StreamCopier.h>

#include <memory>
#include <vector>

#include "common/http_server.h"
#include "tests/support/raw_socket.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// GET /x answers "ok", /missing 404; POST reads its whole body and answers its size.
void route(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (req.getMethod() == "POST") {
        std::string body;
        Poco::StreamCopier::copyToString(req.stream(), body);
        return send_text(res, 200, "text/plain", "read " + std::to_string(body.size()));
    }
    if (req.getURI() == "/missing") return send_text(res, 404, "text/plain", "none");
    send_text(res, 200, "text/plain", "ok");
}

const std::string kGet = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
}  // namespace

TEST_CASE("http: 100 idle or slow connections leave the server answering another client") {
    // The attack of issue 12: sixteen idle connections used to stop the API for 60 s.
    HttpServer server("127.0.0.1", 0, route);  // default limits: 5 s read timeout
    REQUIRE(server.start().ok());
    std::vector<std::unique_ptr<test::RawSocket>> idle;
    for (int i = 0; i < 100; ++i) {
        idle.push_back(std::make_unique<test::RawSocket>(server.port()));
        REQUIRE(idle.back()->connected());
        // Half send nothing; half start a request head and never finish it.
        if (i % 2) REQUIRE(idle.back()->send("GET /x HTTP/1.1\r\nHost: t\r\n"));
    }
    // Another client (its own address) is answered, well before the server's own 5 s
    // read timeout could have freed anything.
    test::RawSocket other(server.port(), "127.0.0.2");
    REQUIRE(other.connected());
    REQUIRE(other.send(kGet));
    auto reply = other.read_response(4s);
    CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(reply.find("\r\n\r\nok") != std::string::npos);
    // One address has at most its share (32) of connections: the rest were refused.
    int refused = 0;
    for (auto& s : idle)
        if (s->read(100ms).rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0) ++refused;
    CHECK(refused == 100 - HttpLimits{}.max_per_address);
}

TEST_CASE("http: a silent connection is closed after the read timeout") {
    HttpServer server("127.0.0.1", 0, route, {.read_timeout = 1s, .keep_alive_timeout = 1s});
    REQUIRE(server.start().ok());
    test::RawSocket silent(server.port());
    REQUIRE(silent.connected());
    CHECK(silent.closed_by_peer(30s));
    test::RawSocket slow(server.port());
    REQUIRE(slow.send("GET /x HTTP/1.1\r\n"));  // a head never finished
    CHECK(slow.closed_by_peer(30s));
}

TEST_CASE("http: a request head trickled in a byte at a time is cut off at the head deadline") {
    // Each byte comes well within the read timeout, so only the head deadline ends it.
    HttpServer server("127.0.0.1", 0, route, {.read_timeout = 5s, .keep_alive_timeout = 5s, .head_deadline = 1s});
    REQUIRE(server.start().ok());
    test::RawSocket slow(server.port());
    REQUIRE(slow.send("GET /x HTTP/1.1\r\n"));
    bool cut = false;
    for (int i = 0; i < 150 && !cut; ++i) {  // 30 s of trickling at most
        cut = !slow.send("X") || slow.closed_by_peer(200ms);
    }
    CHECK(cut);
    // A client that sends its head at once is served all along.
    test::RawSocket quick(server.port());
    REQUIRE(quick.send(kGet));
    CHECK(quick.read_response(5s).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("http: framing errors are answered without desync") {
    HttpServer server("127.0.0.1", 0, route);
    REQUIRE(server.start().ok());

    SECTION("the standard reason phrase, and keep-alive holds across requests") {
        test::RawSocket s(server.port());
        REQUIRE(s.send("GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"));
        CHECK(s.read_response(5s).rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
        REQUIRE(s.send(kGet));
        CHECK(s.read_response(5s).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    }
    SECTION("a POST whose body the route read to its end keeps the connection for the next request") {
        test::RawSocket s(server.port());
        for (int i = 0; i < 3; ++i) {
            REQUIRE(s.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
            auto answer = s.read_response(5s);
            CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
            CHECK(answer.find("\r\n\r\nread 5") != std::string::npos);
        }
        REQUIRE(s.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        CHECK(s.read_response(5s).find("\r\n\r\nread 5") != std::string::npos);
        REQUIRE(s.send(kGet));
        auto next = s.read_response(5s);
        CHECK(next.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(next.find("\r\n\r\nok") != std::string::npos);
    }
    SECTION("HEAD gets a GET's head without the body; the next request on the connection is read right") {
        test::RawSocket s(server.port());
        REQUIRE(s.send("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"));
        auto head = s.read_response(5s, /*head=*/true);
        CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(head.find("Content-Length: 2\r\n") != std::string::npos);
        REQUIRE(s.send(kGet));
        auto next = s.read_response(5s);
        CHECK(next.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(next.find("\r\n\r\nok") != std::string::npos);
    }
    SECTION("an HTTP version other than 1.0 and 1.1 is 505") {
        test::RawSocket s(server.port());
        REQUIRE(s.send("GET /x HTTP/2.0\r\nHost: t\r\n\r\n"));
        CHECK(s.read_response(5s).rfind("HTTP/1.1 505 HTTP Version Not Supported\r\n", 0) == 0);
        CHECK(s.closed_by_peer(5s));
    }
    SECTION("a bad chunk closes the connection: what follows is never read as a request") {
        test::RawSocket s(server.port());
        REQUIRE(s.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n" + kGet));
        auto all = s.read(2s);
        CHECK(all.find("HTTP/1.1 200 OK\r\nContent-Length: 2") == std::string::npos);  // the smuggled GET
        CHECK(s.closed_by_peer(5s));
    }
    SECTION("an unparseable or negative Content-Length closes the connection") {
        for (std::string length : {"abc", "-5", "12abc"}) {
            INFO(length);
            test::RawSocket s(server.port());
            REQUIRE(s.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: " + length + "\r\n\r\nhello" + kGet));
            auto all = s.read(2s);
            CHECK(all.find("\r\n\r\nok") == std::string::npos);  // the smuggled GET
            CHECK(all.find("200 OK") == std::string::npos);
            CHECK(s.closed_by_peer(5s));
        }
    }
}

TEST_CASE("http: a second server on a port already listened on fails to start instead of sharing it") {
    HttpServer first("127.0.0.1", 0, route);
    REQUIRE(first.start().ok());
    HttpServer second("127.0.0.1", first.port(), route);
    auto started = second.start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == "http.bind_failed");
}
