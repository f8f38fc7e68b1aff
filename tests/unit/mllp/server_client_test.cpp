// The MLLP server and client against each other (and against scripted raw peers) over
// real TCP sockets on 127.0.0.1, free ports only. No test depends on timing thresholds:
// timeouts are only ever waited out, never measured.
#include <catch2/catch.hpp>

#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "hl7/ack.h"
#include "mllp/client.h"
#include "mllp/framer.h"
#include "mllp/hl7_view.h"
#include "mllp/server.h"
#include "support.h"

using namespace std::chrono_literals;
using hisgate::ErrorClass;
using hisgate::mllp::Client;
using hisgate::mllp::ClientOptions;
using hisgate::mllp::Server;
using hisgate::mllp::ServerOptions;
using hisgate::mllp::testing::sample_message;

namespace {

std::string ack(std::string_view message) { return hisgate::hl7::ack_for(message); }

ClientOptions client_for(const Server& server) {
    ClientOptions o;
    o.port = server.port();
    o.retry_backoff = 10ms;
    return o;
}

Poco::Net::StreamSocket connect_raw(uint16_t port) {
    Poco::Net::StreamSocket s;
    s.connect(Poco::Net::SocketAddress("127.0.0.1", port));
    s.setReceiveTimeout(Poco::Timespan(30, 0));  // a hung test fails instead of hanging
    return s;
}

void send_raw(Poco::Net::StreamSocket& s, std::string_view bytes) {
    while (!bytes.empty()) bytes.remove_prefix(static_cast<std::size_t>(s.sendBytes(bytes.data(), static_cast<int>(bytes.size()))));
}

}  // namespace

TEST_CASE("a message round-trips and its ACK names its control id", "[mllp][net]") {
    Server server({}, ack);
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    auto answer = client.send(sample_message("RT-1"));
    REQUIRE(answer.ok());
    CHECK(hisgate::mllp::acknowledged_id(*answer) == "RT-1");
    CHECK(answer->find("MSA|AA|RT-1") != std::string::npos);
}

TEST_CASE("the client keeps one connection for many messages", "[mllp][net]") {
    std::atomic<int> handled{0};
    Server server({}, [&](std::string_view m) { ++handled; return ack(m); });
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    for (int i = 0; i < 50; ++i) {
        auto answer = client.send(sample_message("SEQ-" + std::to_string(i)));
        REQUIRE(answer.ok());
        CHECK(hisgate::mllp::acknowledged_id(*answer) == "SEQ-" + std::to_string(i));
    }
    CHECK(handled == 50);
    CHECK(server.open_connections() == 1);
}

TEST_CASE("a frame trickling in byte by byte and several frames in one write are all answered", "[mllp][net]") {
    Server server({}, ack);
    REQUIRE(server.start().ok());
    auto socket = connect_raw(server.port());

    const std::string one = hisgate::mllp::encode_frame(sample_message("TRICKLE"));
    for (char c : one) send_raw(socket, std::string_view(&c, 1));
    CHECK(hisgate::mllp::acknowledged_id(hisgate::mllp::testing::read_frame(socket)) == "TRICKLE");

    std::string burst;
    for (int i = 0; i < 5; ++i) hisgate::mllp::append_frame(burst, sample_message("BURST-" + std::to_string(i)));
    send_raw(socket, burst);
    for (int i = 0; i < 5; ++i)
        CHECK(hisgate::mllp::acknowledged_id(hisgate::mllp::testing::read_frame(socket)) == "BURST-" + std::to_string(i));
}

TEST_CASE("a sender that ends its frame without the carriage return gets its ACK", "[mllp][net]") {
    Server server({}, ack);
    REQUIRE(server.start().ok());
    auto socket = connect_raw(server.port());
    // 0x0B payload 0x1C, and then nothing until the answer comes (the receive timeout
    // of connect_raw turns a missing answer into a failure, not a hang).
    send_raw(socket, "\x0b" + sample_message("NO-CR") + "\x1c");
    CHECK(hisgate::mllp::acknowledged_id(hisgate::mllp::testing::read_frame(socket)) == "NO-CR");
    send_raw(socket, "\x0b" + sample_message("NO-CR-2") + "\x1c");
    CHECK(hisgate::mllp::acknowledged_id(hisgate::mllp::testing::read_frame(socket)) == "NO-CR-2");
}

TEST_CASE("an oversize frame is rejected with AR and the connection stays usable", "[mllp][net]") {
    ServerOptions options;
    options.max_frame_bytes = 4096;
    std::atomic<int> handled{0};
    Server server(options, [&](std::string_view m) { ++handled; return ack(m); });
    REQUIRE(server.start().ok());
    auto socket = connect_raw(server.port());

    std::string big = sample_message("TOO-BIG");
    big += "NTE|1||" + std::string(1 << 20, 'x') + "\r";  // 1 MiB against a 4 KiB limit
    send_raw(socket, hisgate::mllp::encode_frame(big));
    std::string rejection = hisgate::mllp::testing::read_frame(socket);
    CHECK(hisgate::mllp::acknowledged_id(rejection) == "TOO-BIG");
    CHECK(rejection.find("MSA|AR|TOO-BIG") != std::string::npos);
    CHECK(handled == 0);  // never handed to the application

    send_raw(socket, hisgate::mllp::encode_frame(sample_message("AFTER")));
    CHECK(hisgate::mllp::acknowledged_id(hisgate::mllp::testing::read_frame(socket)) == "AFTER");
    CHECK(handled == 1);
}

TEST_CASE("an oversize frame whose header cannot be read closes the connection", "[mllp][net]") {
    ServerOptions options;
    options.max_frame_bytes = 1024;
    Server server(options, ack);
    REQUIRE(server.start().ok());
    auto socket = connect_raw(server.port());
    send_raw(socket, hisgate::mllp::encode_frame(std::string(100000, 'z')));
    CHECK(hisgate::mllp::testing::read_frame(socket).empty());  // EOF, no answer
}

TEST_CASE("the client refuses an answer larger than its maximum frame", "[mllp][net]") {
    Server server({}, [](std::string_view m) { return ack(m) + "NTE|1||" + std::string(10000, 'y') + "\r"; });
    REQUIRE(server.start().ok());
    auto options = client_for(server);
    options.max_frame_bytes = 1024;
    Client client(options);
    auto answer = client.send(sample_message("BIG-ANSWER"));
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.error().code == "mllp.oversize_answer");
    CHECK(answer.error().cls == ErrorClass::Protocol);
}

TEST_CASE("an idle connection is closed by the server", "[mllp][net]") {
    ServerOptions options;
    options.idle_timeout = 300ms;
    Server server(options, ack);
    REQUIRE(server.start().ok());
    auto socket = connect_raw(server.port());
    char c;
    CHECK(socket.receiveBytes(&c, 1) == 0);  // orderly close from the server's side
}

TEST_CASE("a client whose connection idled out reconnects on the next send", "[mllp][net]") {
    ServerOptions options;
    options.idle_timeout = 200ms;
    Server server(options, ack);
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    REQUIRE(client.send(sample_message("BEFORE-IDLE")).ok());
    while (server.open_connections() > 0) std::this_thread::sleep_for(20ms);
    auto answer = client.send(sample_message("AFTER-IDLE"));
    REQUIRE(answer.ok());
    CHECK(hisgate::mllp::acknowledged_id(*answer) == "AFTER-IDLE");
}

TEST_CASE("a pooled connection the server closed is replaced before sending, without spending an attempt", "[mllp][net]") {
    ServerOptions options;
    options.idle_timeout = 200ms;
    std::atomic<int> handled{0};
    Server server(options, [&](std::string_view m) { ++handled; return ack(m); });
    REQUIRE(server.start().ok());
    ClientOptions once = client_for(server);
    once.max_attempts = 1;  // as for a change: one attempt, so a dead socket would fail it
    Client client(once);
    REQUIRE(client.send(sample_message("BEFORE-IDLE")).ok());
    while (server.open_connections() > 0) std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 3; ++i) {
        auto answer = client.send(sample_message("AFTER-IDLE-" + std::to_string(i)));
        REQUIRE(answer.ok());
        CHECK(hisgate::mllp::acknowledged_id(*answer) == "AFTER-IDLE-" + std::to_string(i));
    }
    CHECK(handled == 4);
}

TEST_CASE("no answer within the ACK timeout is a Timeout error after every attempt", "[mllp][net]") {
    std::atomic<int> received{0};
    Server server({}, [&](std::string_view) { ++received; return std::string(); });  // never answers
    REQUIRE(server.start().ok());
    auto options = client_for(server);
    options.ack_timeout = 200ms;
    options.max_attempts = 2;
    Client client(options);
    auto answer = client.send(sample_message("SILENCE"));
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.error().cls == ErrorClass::Timeout);
    CHECK(answer.error().code == "mllp.ack_timeout");
    while (received < 2) std::this_thread::sleep_for(10ms);  // both attempts reached the server
    CHECK(received == 2);
}

TEST_CASE("connecting to a closed port is Unavailable", "[mllp][net]") {
    uint16_t port;
    {
        auto listener = hisgate::mllp::testing::listen_on_free_port();
        port = listener.address().port();
    }  // closed again: nothing listens there now
    ClientOptions options;
    options.port = port;
    options.max_attempts = 2;
    options.retry_backoff = 1ms;
    Client client(options);
    auto answer = client.send(sample_message("NOBODY"));
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.error().cls == ErrorClass::Unavailable);
    CHECK(answer.error().code == "mllp.connect_failed");
}

// The peer answers the first message only after the client gave up on it, and on the
// connection the client opened for the next one. Taking the first frame would return
// the wrong ACK; the client must skip it and return the one whose MSA-2 matches.
TEST_CASE("a late ACK is never taken for the next message", "[mllp][net]") {
    auto listener = hisgate::mllp::testing::listen_on_free_port();
    std::string first_ack;
    std::thread peer([&] {
        auto a = listener.acceptConnection();
        std::string first = hisgate::mllp::testing::read_frame(a);
        first_ack = ack(first);
        // Say nothing on this connection; the client times out and drops it.
        auto b = listener.acceptConnection();
        std::string second = hisgate::mllp::testing::read_frame(b);
        std::string wire = hisgate::mllp::encode_frame(first_ack) + hisgate::mllp::encode_frame(ack(second));
        send_raw(b, wire);
        hisgate::mllp::testing::read_frame(b);  // until the client hangs up
    });
    ClientOptions options;
    options.port = listener.address().port();
    options.ack_timeout = 300ms;
    options.max_attempts = 1;
    {
        Client client(options);
        auto first = client.send(sample_message("FIRST"));
        REQUIRE_FALSE(first.ok());
        CHECK(first.error().code == "mllp.ack_timeout");
        options.ack_timeout = 30s;
        auto second = client.send(sample_message("SECOND"));
        REQUIRE(second.ok());
        CHECK(hisgate::mllp::acknowledged_id(*second) == "SECOND");
    }
    peer.join();
    CHECK(hisgate::mllp::acknowledged_id(first_ack) == "FIRST");
}

TEST_CASE("a duplicated ACK on the same connection is skipped for the next message", "[mllp][net]") {
    // A peer that answers every message twice: the second copy arrives while the client
    // waits for the next message's answer.
    Server server({}, [](std::string_view m) {
        std::string a = ack(m);
        return a + std::string{hisgate::mllp::kEndBlock, hisgate::mllp::kCarriageReturn, hisgate::mllp::kStartBlock} + a;
    });
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    for (const char* id : {"DUP-1", "DUP-2", "DUP-3"}) {
        auto answer = client.send(sample_message(id));
        REQUIRE(answer.ok());
        CHECK(hisgate::mllp::acknowledged_id(*answer) == id);
    }
}

TEST_CASE("a dropped connection is retried with the same bytes and succeeds", "[mllp][net]") {
    // The first delivery is received and then the connection is cut without an answer.
    auto listener = hisgate::mllp::testing::listen_on_free_port();
    std::vector<std::string> received;
    std::thread peer([&] {
        {
            auto a = listener.acceptConnection();
            received.push_back(hisgate::mllp::testing::read_frame(a));
            a.close();
        }
        auto b = listener.acceptConnection();
        received.push_back(hisgate::mllp::testing::read_frame(b));
        send_raw(b, hisgate::mllp::encode_frame(ack(received.back())));
        hisgate::mllp::testing::read_frame(b);
    });
    ClientOptions options;
    options.port = listener.address().port();
    options.retry_backoff = 10ms;
    {
        Client client(options);
        auto answer = client.send(sample_message("RETRY-ME"));
        REQUIRE(answer.ok());
        CHECK(hisgate::mllp::acknowledged_id(*answer) == "RETRY-ME");
    }
    peer.join();
    REQUIRE(received.size() == 2);
    CHECK(received[0] == received[1]);  // a retry is the same message, so it can be deduplicated
}

TEST_CASE("a message that cannot be matched or framed is refused before sending", "[mllp][net]") {
    ClientOptions options;
    options.port = 1;  // never reached
    Client client(options);
    auto no_id = client.send("MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.5\r");
    REQUIRE_FALSE(no_id.ok());
    CHECK(no_id.error().cls == ErrorClass::BadInput);
    auto unframeable = client.send(sample_message("X") + "\x1c");
    REQUIRE_FALSE(unframeable.ok());
    CHECK(unframeable.error().cls == ErrorClass::BadInput);
}

TEST_CASE("many concurrent connections are served at once", "[mllp][net]") {
    constexpr int kClients = 64, kMessages = 20;
    std::atomic<int> peak{0};
    Server* server_ptr = nullptr;
    Server server({}, [&](std::string_view m) {
        int now = server_ptr->open_connections();
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
        return ack(m);
    });
    server_ptr = &server;
    REQUIRE(server.start().ok());

    // Every client connects before any sends, so all connections are open together.
    std::atomic<int> connected{0}, failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
        threads.emplace_back([&, c] {
            Client client(client_for(server));
            auto first = client.send(sample_message("C" + std::to_string(c) + "-0"));
            ++connected;
            if (!first.ok()) ++failures;
            while (connected < kClients) std::this_thread::sleep_for(1ms);
            for (int i = 1; i < kMessages; ++i) {
                std::string id = "C" + std::to_string(c) + "-" + std::to_string(i);
                auto answer = client.send(sample_message(id));
                if (!answer.ok() || hisgate::mllp::acknowledged_id(*answer) != id) ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures == 0);
    CHECK(peak == kClients);
}

TEST_CASE("connections beyond max_connections are closed at once", "[mllp][net]") {
    ServerOptions options;
    options.max_connections = 2;
    Server server(options, ack);
    REQUIRE(server.start().ok());
    Client a(client_for(server)), b(client_for(server));
    REQUIRE(a.send(sample_message("A")).ok());
    REQUIRE(b.send(sample_message("B")).ok());
    auto third = connect_raw(server.port());
    char c;
    CHECK(third.receiveBytes(&c, 1) == 0);
    CHECK(a.send(sample_message("A2")).ok());
}

TEST_CASE("commit-ack mode answers 0x06 once stored, 0x15 when it cannot store", "[mllp][net][commit]") {
    hisgate::mllp::testing::TempDir dir;
    ServerOptions options;
    options.commit_ack = true;
    auto log = hisgate::mllp::MessageLog::open({.dir = (dir.path() / "store").string()});
    REQUIRE(log.ok());
    options.store = std::move(*log);
    std::atomic<int> handled{0};
    Server server(options, [&](std::string_view m) { ++handled; return ack(m); });
    REQUIRE(server.start().ok());

    auto client_options = client_for(server);
    client_options.commit_ack = true;
    Client client(client_options);
    auto committed = client.send(sample_message("COMMIT-1"));
    REQUIRE(committed.ok());
    CHECK(*committed == std::string(1, hisgate::mllp::kCommitAck));
    CHECK(handled == 1);

    // Raw view: exactly one frame holding 0x06 and no HL7 ACK after it.
    auto socket = connect_raw(server.port());
    send_raw(socket, hisgate::mllp::encode_frame(sample_message("COMMIT-2")));
    CHECK(hisgate::mllp::testing::read_frame(socket) == std::string(1, hisgate::mllp::kCommitAck));

    // Make the store fail: the answer turns into a NAK, retried, then Rejected.
    options.store->fail_writes_for_test(true);
    client_options.max_attempts = 2;
    Client nak_client(client_options);
    auto refused = nak_client.send(sample_message("COMMIT-3"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().cls == ErrorClass::Rejected);
    CHECK(refused.error().code == "mllp.commit_nak");
    CHECK(handled == 2);  // the refused message never reached the application
}

TEST_CASE("a storing server has the message in its log before it answers", "[mllp][net][store]") {
    hisgate::mllp::testing::TempDir dir;
    ServerOptions options;
    options.store_dir = dir.path().string();
    const std::string log_path = (dir.path() / hisgate::mllp::kMessageLogFile).string();
    const std::string message = sample_message("STORED-1");
    auto stored = [&] {
        std::vector<std::string> messages;
        auto scan = hisgate::mllp::MessageLog::read(
            log_path, [&](const hisgate::mllp::LogRecord& r) { messages.emplace_back(r.message); });
        return scan.ok() ? messages : std::vector<std::string>{"(unreadable)"};
    };
    std::atomic<bool> on_disk_before_answer{false};
    Server server(options, [&](std::string_view m) {
        // The handler builds the answer, so it runs before the ACK leaves: the record must
        // already be whole in the log here.
        for (const auto& s : stored())
            if (s == m) on_disk_before_answer = true;
        return ack(m);
    });
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    auto answer = client.send(message);
    REQUIRE(answer.ok());
    CHECK(on_disk_before_answer);
    CHECK(stored() == std::vector<std::string>{message});

    // A retry of the same message is recognised: still one record.
    REQUIRE(client.send(message).ok());
    CHECK(stored() == std::vector<std::string>{message});
}

TEST_CASE("a server that cannot store answers AE and does not call the handler", "[mllp][net][store]") {
    hisgate::mllp::testing::TempDir dir;
    ServerOptions options;
    auto log = hisgate::mllp::MessageLog::open({.dir = (dir.path() / "store").string()});
    REQUIRE(log.ok());
    options.store = std::move(*log);
    options.store->fail_writes_for_test(true);
    std::atomic<int> handled{0};
    Server server(options, [&](std::string_view m) { ++handled; return ack(m); });
    REQUIRE(server.start().ok());
    Client client(client_for(server));
    auto answer = client.send(sample_message("NO-DISK"));
    REQUIRE(answer.ok());
    CHECK(answer->find("MSA|AE|NO-DISK") != std::string::npos);
    CHECK(handled == 0);
}

TEST_CASE("stop() closes open connections and returns", "[mllp][net]") {
    auto server = std::make_unique<Server>(ServerOptions{}, ack);
    REQUIRE(server->start().ok());
    Client client(client_for(*server));
    REQUIRE(client.send(sample_message("BEFORE-STOP")).ok());
    server->stop();
    CHECK(server->open_connections() == 0);
    auto options = client_for(*server);
    options.max_attempts = 1;
    Client late(options);
    CHECK_FALSE(late.send(sample_message("AFTER-STOP")).ok());
}
