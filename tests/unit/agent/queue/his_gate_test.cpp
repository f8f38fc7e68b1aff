// The HIS gate: never more calls in flight than the cap, never more starts in a window
// than the rate allows, and real-time callers first. Time is a ManualClock the test steps;
// a test waits for callers to be waiting in the gate before it lets anything happen, so
// the order it checks is the order it set up. Catch's assertions run on the test's thread
// only: other threads record what happened, the test checks it after.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/his_gate.h"

using namespace hisgate;
using namespace hisgate::agent;
using namespace std::chrono_literals;

namespace {
// Callers that hold their pass until the test lets them go.
struct Holders {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    int inside = 0, most = 0, entered = 0, refused = 0;
    std::vector<std::thread> threads;

    void add(HisGate& gate, TaskClass urgency, std::chrono::milliseconds patience) {
        threads.emplace_back([this, &gate, urgency, patience] {
            auto pass = gate.enter(urgency, patience);
            std::unique_lock lock(mu);
            if (!pass) {
                ++refused;
                return;
            }
            ++entered;
            most = std::max(most, ++inside);
            cv.wait(lock, [&] { return release; });
            --inside;
        });
    }
    int count(int Holders::*field) {
        std::lock_guard lock(mu);
        return this->*field;
    }
    void release_all() {
        {
            std::lock_guard lock(mu);
            release = true;
        }
        cv.notify_all();
        for (auto& t : threads) t.join();
        threads.clear();
    }
};
}  // namespace

TEST_CASE("his gate: at most `concurrency` calls are ever in flight; the rest wait for a place") {
    ManualClock clock;
    HisGate gate(3, 100000, clock);
    Holders holders;
    for (int i = 0; i < 5; ++i) holders.add(gate, TaskClass::Deferred, 1h);
    // Two callers wait in the gate: the cap is reached, and time does not move.
    REQUIRE(clock.await_waiters(2));
    CHECK(gate.in_flight() == 3);
    CHECK(holders.count(&Holders::entered) == 3);
    holders.release_all();
    CHECK(holders.count(&Holders::entered) == 5);
    CHECK(holders.count(&Holders::refused) == 0);
    CHECK(holders.count(&Holders::most) == 3);
    CHECK(gate.in_flight() == 0);
}

TEST_CASE("his gate: many callers entering and leaving never exceed the cap") {
    HisGate gate(3, 100000);
    std::atomic<int> now{0}, most{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 30; ++i) {
                auto pass = gate.enter(TaskClass::Deferred, 10s);
                if (!pass) {
                    ++refused;
                    continue;
                }
                int n = ++now;
                int seen = most.load();
                while (n > seen && !most.compare_exchange_weak(seen, n)) {
                }
                std::this_thread::yield();
                --now;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(refused == 0);
    CHECK(most.load() <= 3);
    CHECK(gate.in_flight() == 0);
}

TEST_CASE("his gate: no 60 s window ever holds more starts than the rate cap") {
    constexpr int kRate = 20;
    ManualClock clock;
    HisGate gate(8, kRate, clock);
    std::mutex mu;
    std::vector<HisGate::TimePoint> starts;
    std::atomic<bool> done{false};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            while (!done) {
                auto pass = gate.enter(TaskClass::Deferred, 1h);
                if (!pass) {
                    if (!done) ++refused;
                    continue;
                }
                std::lock_guard lock(mu);
                starts.push_back(pass->started_at());
            }
        });
    // Two and a half windows, in half-second steps, each taken once all eight callers
    // wait for the gate.
    auto begin = clock.steady_now();
    while (clock.steady_now() - begin < 150s) {
        REQUIRE(clock.await_waiters(8));
        clock.advance(500ms);
    }
    REQUIRE(clock.await_waiters(8));
    done = true;
    gate.close();
    for (auto& th : threads) th.join();
    CHECK(refused == 0);
    std::sort(starts.begin(), starts.end());
    // The cap was reached in each window, so it was tested: 20 per minute for 150 s.
    REQUIRE(starts.size() >= 2 * kRate + 1);
    size_t most = 0;
    for (size_t i = 0, j = 0; i < starts.size(); ++i) {
        while (starts[i] - starts[j] >= HisGate::kWindow) ++j;
        most = std::max(most, i - j + 1);
    }
    INFO(starts.size() << " starts, at most " << most << " in any 60 s window");
    CHECK(most == kRate);
    // Paced, not in bursts: one second's share (here one call) every 3 s.
    for (size_t i = 1; i < starts.size(); ++i) CHECK(starts[i] - starts[i - 1] >= 3s);
}

TEST_CASE("his gate: a real-time caller takes the next free place before a deferred one that waited longer") {
    ManualClock clock;
    HisGate gate(1, 100000, clock);
    auto held = gate.enter(TaskClass::Deferred, 1s);
    REQUIRE(held);
    std::mutex mu;
    std::vector<std::string> order;
    auto caller = [&](TaskClass urgency, std::string name) {
        return std::thread([&, urgency, name] {
            auto p = gate.enter(urgency, 10s);
            std::lock_guard lock(mu);
            order.push_back(p ? name : name + " refused");
        });
    };
    std::thread deferred = caller(TaskClass::Deferred, "deferred");
    REQUIRE(clock.await_waiters(1));  // the deferred caller waits first
    std::thread realtime = caller(TaskClass::RealTime, "realtime");
    REQUIRE(clock.await_waiters(2));
    { auto release = std::move(held.value()); }
    deferred.join();
    realtime.join();
    REQUIRE(order.size() == 2);
    CHECK(order[0] == "realtime");
    CHECK(order[1] == "deferred");
}

TEST_CASE("his gate: a caller that cannot get in within its patience is refused as unavailable") {
    ManualClock clock;
    HisGate gate(1, 100000, clock);
    auto held = gate.enter(TaskClass::RealTime, 1s);
    REQUIRE(held);
    std::optional<Result<HisGate::Pass>> refused;
    std::thread waiter([&] { refused.emplace(gate.enter(TaskClass::RealTime, 2s)); });
    REQUIRE(clock.await_waiters(1));
    clock.advance(1999ms);
    REQUIRE(clock.await_waiters(1));  // still waiting: its patience has 1 ms left
    clock.advance(1ms);
    waiter.join();
    REQUIRE(refused);
    REQUIRE_FALSE(*refused);
    CHECK(refused->error().cls == ErrorClass::Unavailable);
    CHECK(refused->error().code == "his.busy");

    std::optional<Result<HisGate::Pass>> closed;
    std::thread closing([&] { closed.emplace(gate.enter(TaskClass::Deferred, 1h)); });
    REQUIRE(clock.await_waiters(1));
    gate.close();  // wakes it without time passing
    closing.join();
    REQUIRE(closed);
    REQUIRE_FALSE(*closed);
}
