// One monitor's connection on an injected clock: the reconnect backoff, stale and lost
// (a stalled connection given up), and a new port followed. The monitor is a loopback
// listener of the test's own; time moves only when the test moves it.
#include <catch2/catch.hpp>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <thread>

#include "agent/vitals/monitor_link.h"
#include "mllp/framer.h"
#include "monitor-sim/oru_builder.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::vitals;
using namespace std::chrono_literals;

namespace {

// A monitor that accepts connections; each is kept (to send on, or to see closed) or
// closed at once.
class FakeMonitor {
public:
    explicit FakeMonitor(bool close_at_once) : close_at_once_(close_at_once) {
        server_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
        server_.listen();
        thread_ = std::thread([this] {
            while (!stopping_) {
                if (!server_.poll(Poco::Timespan(0, 20000), Poco::Net::Socket::SELECT_READ)) continue;
                auto s = server_.acceptConnection();
                std::lock_guard lock(mu_);
                if (close_at_once_) s.close();
                else connections_.push_back(s);
                ++accepted_;
            }
        });
    }
    ~FakeMonitor() {
        stopping_ = true;
        thread_.join();
    }
    uint16_t port() const { return server_.address().port(); }
    int accepted() const { return accepted_; }
    void send(const std::string& bytes) {
        std::lock_guard lock(mu_);
        connections_.back().sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    }
    // Whether the gateway closed the latest connection (a read sees end of stream).
    bool closed_by_peer() {
        std::lock_guard lock(mu_);
        auto& s = connections_.back();
        if (!s.poll(Poco::Timespan(0, 1000), Poco::Net::Socket::SELECT_READ)) return false;
        char c;
        try {
            return s.receiveBytes(&c, 1) == 0;
        } catch (const Poco::Exception&) {
            return true;
        }
    }

private:
    bool close_at_once_;
    Poco::Net::ServerSocket server_;
    std::mutex mu_;
    std::vector<Poco::Net::StreamSocket> connections_;
    std::atomic<int> accepted_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

VitalsSettings settings() {
    VitalsSettings s;
    s.enabled = true;
    s.stale_after = 5s;
    s.lost_after = 15s;
    // min == max: the jittered wait is exactly 1 s, so the test knows how far to move time.
    s.backoff_min = 1s;
    s.backoff_max = 1s;
    s.codes = {{"52", {false, "heart_rate", "/min"}}};
    return s;
}

Announcement at(uint16_t port) { return {"MON-0001", "PM-50", "ICU", "BED-001", "127.0.0.1", port}; }

std::string one_result() {
    monitor_sim::MonitorIdentity who{"MON-0001", "PM-50", "ICU", 1, "BED-001", monitor_sim::Interface::Realtime};
    return mllp::encode_frame(monitor_sim::build_result(who, 1, std::chrono::system_clock::now(), {{"52", 70}}, 0));
}

struct Rig {
    ManualClock clock{std::chrono::system_clock::now()};
    DropLog drops{clock};
    std::unique_ptr<VitalsStore> store;
    VitalsSettings s = settings();
    Rig() { store = std::move(VitalsStore::open(test::make_temp_dir("vitals-link") + "/state.db", {}, clock, drops).value()); }
};

}  // namespace

TEST_CASE("vitals monitor link: a connection that ends is tried again only after its backoff on the injected clock") {
    Rig rig;
    FakeMonitor monitor(/*close_at_once=*/true);
    MonitorLink link(rig.s, at(monitor.port()), *rig.store, rig.drops, rig.clock);
    link.start();
    REQUIRE(test::eventually([&] { return monitor.accepted() == 1; }));
    // The link now waits on the clock: nothing more happens until time moves.
    REQUIRE(rig.clock.await_waiters(1));
    CHECK(monitor.accepted() == 1);
    CHECK(link.status().state == MonitorState::Lost);
    rig.clock.advance(1s);
    REQUIRE(test::eventually([&] { return monitor.accepted() == 2; }));
    REQUIRE(rig.clock.await_waiters(1));
    CHECK(monitor.accepted() == 2);
    link.stop();
}

TEST_CASE("vitals monitor link: a silent connection is stale after stale_after and given up after lost_after") {
    Rig rig;
    FakeMonitor monitor(/*close_at_once=*/false);
    MonitorLink link(rig.s, at(monitor.port()), *rig.store, rig.drops, rig.clock);
    link.start();
    REQUIRE(test::eventually([&] { return monitor.accepted() == 1; }));
    monitor.send(one_result());
    REQUIRE(test::eventually([&] { return link.status().state == MonitorState::Connected; }));
    CHECK(link.status().last_sample_ms > 0);

    rig.clock.advance(6s);
    REQUIRE(test::eventually([&] { return link.status().state == MonitorState::Stale; }));
    CHECK_FALSE(monitor.closed_by_peer());
    rig.clock.advance(10s);
    REQUIRE(test::eventually([&] { return link.status().state == MonitorState::Lost; }));
    REQUIRE(test::eventually([&] { return monitor.closed_by_peer(); }));
    // Then the backoff, then a new connection.
    REQUIRE(rig.clock.await_waiters(1));
    rig.clock.advance(1s);
    REQUIRE(test::eventually([&] { return monitor.accepted() == 2; }));
    link.stop();
}

TEST_CASE("vitals monitor link: an announcement with a new port ends the connection and connects there at once") {
    Rig rig;
    FakeMonitor before(false), after(false);
    MonitorLink link(rig.s, at(before.port()), *rig.store, rig.drops, rig.clock);
    link.start();
    REQUIRE(test::eventually([&] { return before.accepted() == 1; }));
    link.announced(at(after.port()));
    // No backoff: the clock is never moved.
    REQUIRE(test::eventually([&] { return after.accepted() == 1; }));
    CHECK(test::eventually([&] { return before.closed_by_peer(); }));
    CHECK(link.status().port == after.port());
    link.stop();
}
