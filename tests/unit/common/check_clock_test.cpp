// Always-on checks abort with the invariant and its values in every build type; the manual
// clock moves only when told and wakes waiters whose deadline it passes.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/check.h"
#include "common/clock.h"
#include "common/error.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

// Runs `body` in a child process with stderr in a file; returns (signal, stderr).
std::pair<int, std::string> in_child(const std::function<void()>& body) {
    char path[] = "/tmp/hisgate-check-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(fd);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    return {WIFSIGNALED(status) ? WTERMSIG(status) : 0, text.str()};
}

}  // namespace

TEST_CASE("check: a false invariant aborts and names the condition and values, in this build type too") {
    int counter = -1;
    auto [signal, err] = in_child([&] { HISGATE_CHECK(counter >= 0, "counter", counter); });
    CHECK(signal == SIGABRT);
    CHECK(err.find("counter >= 0") != std::string::npos);
    CHECK(err.find("counter=-1") != std::string::npos);
    CHECK(err.find("check_clock_test.cpp") != std::string::npos);

    auto [eq_signal, eq_err] = in_child([] { HISGATE_CHECK_EQ(2, 3, "row", 7); });
    CHECK(eq_signal == SIGABRT);
    CHECK(eq_err.find("left=2 right=3 row=7") != std::string::npos);

    auto [ok_signal, ok_err] = in_child([] { HISGATE_CHECK(1 + 1 == 2, "sum", 2); });
    CHECK(ok_signal == 0);
    CHECK(ok_err.empty());
}

TEST_CASE("check: reading the value of a failed Result stops the process instead of reading garbage") {
    auto [signal, err] = in_child([] {
        Result<int> r = make_error(ErrorClass::Internal, "x.y", "broken");
        std::printf("%d", r.value());
    });
    CHECK(signal == SIGABRT);
    CHECK(err.find("x.y: broken") != std::string::npos);
}

TEST_CASE("manual clock: time moves only when advanced, and the wall clock can step alone") {
    ManualClock clock;
    auto s0 = clock.steady_now();
    auto w0 = clock.wall_now();
    CHECK(clock.steady_now() == s0);
    clock.advance(1500ms);
    CHECK(clock.steady_now() - s0 == 1500ms);
    CHECK(clock.wall_now() - w0 == 1500ms);
    CHECK(clock.wall_ms() == std::chrono::duration_cast<std::chrono::milliseconds>(w0.time_since_epoch()).count() + 1500);
    clock.set_wall(w0 - 1h);
    CHECK(clock.steady_now() - s0 == 1500ms);
    CHECK(clock.wall_now() == w0 - 1h);
}

TEST_CASE("manual clock: a waiter wakes when time passes its deadline, not before") {
    ManualClock clock;
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<int> outcome{-1};
    std::thread waiter([&] {
        std::unique_lock lock(mu);
        outcome = clock.wait_for(lock, cv, 10s, [] { return false; }) ? 1 : 0;
    });
    REQUIRE(clock.await_waiters(1));
    clock.advance(9s);
    // Still waiting: the deadline is 10 s of clock time away, whatever real time passes.
    REQUIRE(clock.await_waiters(1));
    CHECK(outcome == -1);
    clock.advance(1s);
    waiter.join();
    CHECK(outcome == 0);
    CHECK(clock.waiters() == 0);
}

TEST_CASE("manual clock: a waiter whose condition comes true wakes without time passing") {
    ManualClock clock;
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
    std::atomic<int> outcome{-1};
    std::thread waiter([&] {
        std::unique_lock lock(mu);
        outcome = clock.wait_for(lock, cv, 1h, [&] { return ready; }) ? 1 : 0;
    });
    REQUIRE(clock.await_waiters(1));
    {
        std::lock_guard lock(mu);
        ready = true;
    }
    cv.notify_all();
    waiter.join();
    CHECK(outcome == 1);
}
