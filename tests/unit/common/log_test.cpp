#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common/log.h"
#include "common/program.h"
#include "common/trace.h"
#include "tests/support/process.h"

using namespace hisgate;

TEST_CASE("log: PHI keys are redacted whatever their value") {
    nlohmann::json f = {{"name", "ZHANG WEI"}, {"phone", "13800000000"}, {"id_number", "110101199003074512"},
                        {"report_id", "R-DEMO-1"}, {"nested", {{"patient_name", "LI NA"}}}};
    log::redact(f);
    CHECK(f["name"] == "[redacted]");
    CHECK(f["phone"] == "[redacted]");
    CHECK(f["id_number"] == "[redacted]");
    CHECK(f["nested"]["patient_name"] == "[redacted]");
    CHECK(f["report_id"] == "R-DEMO-1");
}

TEST_CASE("log: digit runs that look like phone or ID numbers are scrubbed from any text") {
    CHECK(log::scrub("call 13800000000 now") == "call [redacted] now");
    CHECK(log::scrub("id 11010119900307451X ok") == "id [redacted] ok");
    CHECK(log::scrub("+86 138-0000-0000") == "+[redacted]");
    CHECK(log::scrub("port 1883 took 25 ms") == "port 1883 took 25 ms");
    CHECK(log::scrub("control id 4f3a9b2c1d") == "control id 4f3a9b2c1d");
}

TEST_CASE("log: every line is JSON with time, level, process, event and the current trace id") {
    std::string dir = test::make_temp_dir("log");
    log::init("unit", dir + "/u.log");
    auto ctx = TraceContext::start();
    {
        ScopedTrace scope(ctx);
        log::info("thing.happened", {{"count", 3}, {"phone", "13912345678"}});
    }
    log::init("unit", "");  // back to stderr
    auto text = test::read_file(dir + "/u.log");
    auto line = nlohmann::json::parse(text.substr(0, text.find('\n')));
    CHECK(line["event"] == "thing.happened");
    CHECK(line["proc"] == "unit");
    CHECK(line["level"] == "info");
    CHECK(line["trace_id"] == ctx.trace_id);
    CHECK(line["count"] == 3);
    CHECK(line["phone"] == "[redacted]");
    CHECK(text.find("13912345678") == std::string::npos);
}

TEST_CASE("log: SIGHUP reopens the log file by its path after logrotate renamed it") {
    std::string dir = test::make_temp_dir("log-reopen");
    std::string path = dir + "/agent.log";
    log::init("unit", path);
    log::info("before.rotation");
    std::filesystem::rename(path, path + ".1");  // what logrotate does, before its postrotate
    // The program's own signal path: blocked in every thread, taken by wait_for_shutdown.
    sigset_t previous;
    pthread_sigmask(SIG_SETMASK, nullptr, &previous);
    block_shutdown_signals();
    int returned = 0;
    std::thread waiter([&] { returned = wait_for_shutdown(); });
    kill(getpid(), SIGHUP);
    // The reopen creates the file at once; the deadline only guards a broken build.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    log::info("after.rotation");
    kill(getpid(), SIGTERM);  // SIGHUP did not end the wait; this does
    waiter.join();
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    log::init("unit", "");
    CHECK(returned == SIGTERM);
    auto rotated = test::read_file(path + ".1");
    auto fresh = test::read_file(path);
    CHECK(rotated.find("before.rotation") != std::string::npos);
    CHECK(rotated.find("after.rotation") == std::string::npos);
    CHECK(fresh.find("after.rotation") != std::string::npos);
}

TEST_CASE("log: reopen while logging to stderr does nothing") {
    log::init("unit", "");
    log::reopen();
    log::info("still.stderr");
}
