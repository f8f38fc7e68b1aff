// The HIS gate: never more calls in flight than the cap, never more starts in a window
// than the rate allows, and real-time callers first.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "agent/his_gate.h"

using namespace hisgate;
using namespace hisgate::agent;
using namespace std::chrono_literals;

TEST_CASE("his gate: at most `concurrency` calls are ever in flight") {
    HisGate gate(3, 100000);
    std::atomic<int> now{0}, most{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 30; ++i) {
                auto pass = gate.enter(Urgency::Deferred, 10s);
                if (!pass) {  // Catch's assertions are not for other threads: count, check after
                    ++refused;
                    continue;
                }
                int n = ++now;
                int seen = most.load();
                while (n > seen && !most.compare_exchange_weak(seen, n)) {
                }
                std::this_thread::sleep_for(1ms);
                --now;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(refused == 0);
    CHECK(most.load() == 3);
    CHECK(gate.in_flight() == 0);
}

TEST_CASE("his gate: no window ever holds more starts than the rate cap") {
    // A 1 s window stands in for the minute, so the test takes seconds, not minutes.
    constexpr int kRate = 20;
    HisGate gate(8, kRate, 1000ms);
    std::mutex mu;
    std::vector<HisGate::Clock::time_point> starts;
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    auto until = HisGate::Clock::now() + 2500ms;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            while (HisGate::Clock::now() < until) {
                auto pass = gate.enter(Urgency::Deferred, 5s);
                if (!pass) {
                    ++refused;
                    continue;
                }
                std::lock_guard lock(mu);
                starts.push_back(pass->started_at());
            }
        });
    for (auto& th : threads) th.join();
    CHECK(refused == 0);
    std::sort(starts.begin(), starts.end());
    REQUIRE(starts.size() > kRate);  // the cap was reached, so it was tested
    size_t most = 0;
    for (size_t i = 0, j = 0; i < starts.size(); ++i) {
        while (starts[i] - starts[j] >= 1000ms) ++j;
        most = std::max(most, i - j + 1);
    }
    INFO(starts.size() << " starts, at most " << most << " in any 1 s window");
    CHECK(most <= kRate);
}

TEST_CASE("his gate: a real-time caller takes the next free place before a deferred one") {
    HisGate gate(1, 100000);
    auto held = gate.enter(Urgency::Deferred, 1s);
    REQUIRE(held);
    std::mutex mu;
    std::vector<std::string> order;
    std::thread deferred([&] {
        auto p = gate.enter(Urgency::Deferred, 10s);
        if (!p) return;  // missing from `order`, which is checked below
        std::lock_guard lock(mu);
        order.push_back("deferred");
    });
    std::this_thread::sleep_for(100ms);  // the deferred caller waits first
    std::thread realtime([&] {
        auto p = gate.enter(Urgency::RealTime, 10s);
        if (!p) return;
        std::lock_guard lock(mu);
        order.push_back("realtime");
        std::this_thread::sleep_for(50ms);
    });
    std::this_thread::sleep_for(100ms);
    { auto release = std::move(held.value()); }
    deferred.join();
    realtime.join();
    REQUIRE(order.size() == 2);
    CHECK(order[0] == "realtime");
}

TEST_CASE("his gate: a caller that cannot get in within its patience is refused as unavailable") {
    HisGate gate(1, 100000);
    auto held = gate.enter(Urgency::RealTime, 1s);
    REQUIRE(held);
    auto refused = gate.enter(Urgency::RealTime, 50ms);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().cls == ErrorClass::Unavailable);
    CHECK(refused.error().code == "his.busy");
    gate.close();
    auto closed = gate.enter(Urgency::Deferred, 5s);
    REQUIRE_FALSE(closed);
}
