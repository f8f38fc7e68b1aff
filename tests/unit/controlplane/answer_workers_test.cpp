// AnswerWorkers: every answer handed over is taken once, off the caller's thread while
// running, on it before start and after stop; a full queue holds the caller back.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "controlplane/answer_workers.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
IncomingMessage answer(int i) {
    IncomingMessage m;
    m.topic = "hisgate/v1/hospitals/H001/response/cp1";
    m.payload = std::to_string(i);
    return m;
}
}  // namespace

TEST_CASE("answer workers: every answer is taken once, on the workers' threads") {
    std::mutex mu;
    std::map<std::string, int> taken;
    std::set<std::thread::id> threads;
    controlplane::AnswerWorkers workers(
        [&](const IncomingMessage& m) {
            std::lock_guard lock(mu);
            ++taken[m.payload];
            threads.insert(std::this_thread::get_id());
        },
        3, 16);
    workers.start();
    for (int i = 0; i < 1000; ++i) workers.post(answer(i));
    workers.stop();  // takes what is still queued before it returns
    CHECK(taken.size() == 1000);
    for (const auto& [_, n] : taken) CHECK(n == 1);
    CHECK(threads.count(std::this_thread::get_id()) == 0);

    workers.post(answer(1000));  // after stop: taken here, not dropped
    CHECK(taken["1000"] == 1);
    CHECK(threads.count(std::this_thread::get_id()) == 1);
}

TEST_CASE("answer workers: a full queue holds the poster back until a worker takes one") {
    std::mutex gate;
    std::unique_lock closed(gate);  // the one worker blocks on its first answer
    std::atomic<int> taken{0}, entered{0};
    controlplane::AnswerWorkers workers(
        [&](const IncomingMessage&) {
            ++entered;
            std::lock_guard pass(gate);
            ++taken;
        },
        1, 2);
    workers.start();
    workers.post(answer(0));  // the worker holds it
    while (entered == 0) std::this_thread::sleep_for(1ms);
    workers.post(answer(1));
    workers.post(answer(2));  // the queue is full now
    std::atomic<bool> posted{false};
    std::thread poster([&] {
        workers.post(answer(3));
        posted = true;
    });
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(posted);
    closed.unlock();
    poster.join();
    CHECK(posted);
    workers.stop();
    CHECK(taken == 4);
}
