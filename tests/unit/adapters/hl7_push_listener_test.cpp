// The HL7 push listener's guards (issue 12 item 8), on real loopback sockets: a frame cut
// at its cap and the connection closed, the bytes held across connections shown by the
// hisgate_mllp_buffered_bytes gauge, peers outside extraction.push.allowed_peers refused,
// TLS (certificates made by openssl for the run), and the parameters that configure them.
#include <catch2/catch.hpp>

#include <atomic>

#include "adapters/hl7v2/push_listener.h"
#include "common/metrics.h"
#include "config-params/catalog.h"
#include "config-params/param_set.h"
#include "hl7/message.h"
#include "mllp/client.h"
#include "mllp/framer.h"
#include "tests/support/certificates.h"
#include "tests/support/hl7_push.h"
#include "tests/support/process.h"
#include "tests/support/raw_socket.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

double buffered_gauge() {
    return metrics::global()
        .gauge("hisgate_mllp_buffered_bytes", "Bytes of MLLP frames in progress held by all connections",
               {{"listener", "hl7_push"}})
        .value();
}

double closed_count(const std::string& reason) {
    return metrics::global()
        .counter("hisgate_mllp_connections_closed_total",
                 "MLLP connections the server closed for what the peer did (not allowed, oversize frame, buffer bound)",
                 {{"listener", "hl7_push"}, {"reason", reason}})
        .value();
}

struct Listener {
    std::atomic<int> pushes{0};
    std::unique_ptr<PushListener> listener;
    explicit Listener(hl7v2::PushSettings settings) {
        auto started = hl7v2::listen_for_hl7_pushes(settings, {}, [this](const ReferencePush&) -> Result<void> {
            ++pushes;
            return {};
        });
        INFO((started.ok() ? "" : started.error().describe()));
        REQUIRE(started.ok());
        listener = std::move(started.value());
    }
    uint16_t port() const { return listener->port(); }
};

std::string department_push(const std::string& control_id) {
    test::hl7_push::Push p("MFN", "M05", control_id);
    p.set("MFI-1", "LOC").set("MFE-1", "MAD").set("MFE-4-1", "DEP-1").set("LOC-1", "DEP-1").set("LOC-2", "Cardiology");
    return p.m.serialize();
}

std::string ack_code(const std::string& framed_reply) {
    std::vector<mllp::Frame> frames;
    mllp::FrameDecoder decoder(1 << 20);
    decoder.feed(framed_reply, frames);
    if (frames.empty()) return "";
    auto ack = hl7::Message::parse(frames[0].payload);
    return ack ? ack->get("MSA-1") : "";
}

// Whether the listener closed the connection: what it sent is read first (a close with
// unread bytes is a reset, reported once before the end of the stream).
bool cut(test::RawSocket& s) {
    (void)s.read(1s);
    return s.closed_by_peer(5s);
}

Result<params::ParamSet> push_params(const std::string& push) {
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"},
        "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"}, "extraction": {"push": )" + push + "}}");
    return params::ParamSet::validate(params::Catalog::builtin().value(), doc, "test.json");
}

}  // namespace

TEST_CASE("hl7 push listener: an unterminated 10 MB frame is cut at the cap, answered AR and its connection closed") {
    Listener l(hl7v2::PushSettings{});
    const double closed_before = closed_count("oversize_frame");
    test::RawSocket his(l.port());
    REQUIRE(his.connected());

    // 3 MiB of a frame that never ends: held, and shown, but never more than the cap.
    const std::string head = "\x0b" + department_push("BIG-1") + "NTE|1||";
    REQUIRE(his.send(head + std::string(3u << 20, 'x')));
    REQUIRE(test::eventually([&] { return buffered_gauge() >= 3u << 20; }));
    CHECK(buffered_gauge() <= hl7v2::kPushMaxFrameBytes);

    // The rest of 10 MB: past the cap the listener answers AR and closes, reading no more.
    bool all_sent = true;
    double most = 0;
    for (int mib = 3; mib < 10 && all_sent; ++mib) {
        all_sent = his.send(std::string(1u << 20, 'x'));
        most = std::max(most, buffered_gauge());
    }
    CHECK(most <= hl7v2::kPushMaxFrameBytes);
    std::string reply = his.read(2s);
    if (!reply.empty()) CHECK(ack_code(reply) == "AR");  // a reset may overtake the ACK
    CHECK(his.closed_by_peer(5s));
    CHECK(test::eventually([&] { return closed_count("oversize_frame") == closed_before + 1; }));
    CHECK(test::eventually([&] { return buffered_gauge() == 0; }, 30s));  // the sessions end as their reads see the close: slow on a loaded machine
    CHECK(l.pushes == 0);

    // The listener still takes pushes on a new connection.
    mllp::Client client(mllp::ClientOptions{.port = l.port(), .max_attempts = 1});
    auto ack = client.send(department_push("OK-1"));
    REQUIRE(ack.ok());
    CHECK(hl7::Message::parse(ack.value())->get("MSA-1") == "AA");
}

TEST_CASE("hl7 push listener: frames in progress across connections are bounded in total") {
    Listener l(hl7v2::PushSettings{});
    const double closed_before = closed_count("buffer_bound");
    // Three connections each holding 3 MiB of a frame (under the 4 MiB cap): the third
    // takes the total past the 8 MiB bound and is closed; the first two stay.
    std::vector<std::unique_ptr<test::RawSocket>> his;
    for (int i = 0; i < 3; ++i) {
        his.push_back(std::make_unique<test::RawSocket>(l.port()));
        REQUIRE(his.back()->connected());
        (void)his.back()->send("\x0b" + std::string(3u << 20, 'x'));
        if (i < 2) REQUIRE(test::eventually([&] { return buffered_gauge() >= (i + 1) * double(3u << 20); }));
    }
    CHECK(cut(*his[2]));
    CHECK(test::eventually([&] { return closed_count("buffer_bound") == closed_before + 1; }));
    CHECK(buffered_gauge() <= hl7v2::kPushMaxBufferedBytes);
    CHECK_FALSE(his[0]->closed_by_peer(200ms));
    his.clear();
    CHECK(test::eventually([&] { return buffered_gauge() == 0; }, 30s));  // the sessions end as their reads see the close: slow on a loaded machine
}

TEST_CASE("hl7 push listener: a peer outside extraction.push.allowed_peers is closed before it is read") {
    hl7v2::PushSettings settings;
    settings.allowed_peers = {*IpRange::parse("127.0.0.1/32")};
    Listener l(settings);
    const double refused_before = closed_count("peer_not_allowed");

    test::RawSocket stranger(l.port(), "127.0.0.2");
    REQUIRE(stranger.connected());
    (void)stranger.send(mllp::encode_frame(department_push("X-1")));
    CHECK(stranger.read(1s).empty());
    CHECK(cut(stranger));
    CHECK(closed_count("peer_not_allowed") == refused_before + 1);
    CHECK(l.pushes == 0);

    test::RawSocket his(l.port(), "127.0.0.1");
    REQUIRE(his.send(mllp::encode_frame(department_push("OK-2"))));
    CHECK(ack_code(his.read(1s)) == "AA");
    CHECK(l.pushes == 1);
}

TEST_CASE("hl7 push listener: over TLS a push is acknowledged and a plaintext push is refused") {
    const std::string dir = test::make_temp_dir("push-tls");
    REQUIRE(test::make_test_certificates(dir, "push"));
    hl7v2::PushSettings settings;
    settings.cert_file = dir + "/push.crt";
    settings.key_file = dir + "/push.key";
    Listener l(settings);

    mllp::Client secure(mllp::ClientOptions{.port = l.port(), .max_attempts = 1, .tls = true, .ca_file = dir + "/ca.crt"});
    auto ack = secure.send(department_push("TLS-1"));
    INFO((ack.ok() ? "" : ack.error().describe()));
    REQUIRE(ack.ok());
    CHECK(hl7::Message::parse(ack.value())->get("MSA-1") == "AA");
    CHECK(l.pushes == 1);

    test::RawSocket plain(l.port());
    REQUIRE(plain.connected());
    (void)plain.send(mllp::encode_frame(department_push("PLAIN-1")));
    std::string reply = plain.read(2s);
    CHECK(ack_code(reply).empty());  // whatever comes back (a TLS alert) is no HL7 ACK
    CHECK(cut(plain));
    CHECK(l.pushes == 1);
}

TEST_CASE("hl7 push listener: allowed peers and TLS files are read from the parameters, errors naming them") {
    auto ok = push_params(R"({"listen": "127.0.0.1:6661", "allowed_peers": ["10.20.0.15", "10.20.1.0/24", "fd00::/8"],
                              "tls": {"cert_file": "/etc/hisgate/push.crt", "key_file": "/etc/hisgate/push.key"}})");
    INFO((ok.ok() ? "" : ok.error().describe()));
    REQUIRE(ok.ok());
    auto settings = hl7v2::push_settings_from_params(ok.value());
    REQUIRE(settings.ok());
    REQUIRE(settings->has_value());
    const auto& s = **settings;
    REQUIRE(s.allowed_peers.size() == 3);
    CHECK(s.allowed_peers[1].contains("10.20.1.77"));
    CHECK_FALSE(s.allowed_peers[1].contains("10.20.2.1"));
    CHECK(s.cert_file == "/etc/hisgate/push.crt");
    CHECK(s.key_file == "/etc/hisgate/push.key");

    auto bad_peer = push_params(R"({"allowed_peers": ["10.20.0.15", "10.20.0.300", "10.0.0.0/33", "his.example"]})");
    REQUIRE_FALSE(bad_peer.ok());
    for (const char* says : {"extraction.push.allowed_peers[1]", "extraction.push.allowed_peers[2]",
                             "extraction.push.allowed_peers[3]", "an IP address or CIDR block"})
        CHECK_THAT(bad_peer.error().message, Catch::Contains(says));
    CHECK_THAT(bad_peer.error().message, !Catch::Contains("allowed_peers[0]"));

    auto half_tls = push_params(R"({"listen": "127.0.0.1:6661", "tls": {"cert_file": "/etc/hisgate/push.crt"}})");
    REQUIRE(half_tls.ok());
    auto refused = hl7v2::push_settings_from_params(half_tls.value());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "params.invalid");
    CHECK_THAT(refused.error().message, Catch::Contains("cert_file and key_file go together"));
}
