// Running a program bounded in time and output (common/subprocess.h): real child processes.
#include <catch2/catch.hpp>

#include "common/subprocess.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("subprocess: its output and exit status") {
    auto ran = run_subprocess({"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"}, 10s, 1024);
    REQUIRE(ran.ok());
    CHECK(ran->output == "hello\n");  // stderr is not collected
    CHECK(ran->exit_status == 3);
    auto killed = run_subprocess({"/bin/sh", "-c", "kill -9 $$"}, 10s, 1024);
    REQUIRE(killed.ok());
    CHECK(killed->exit_status == 128 + 9);
}

TEST_CASE("subprocess: one that hangs, talks too much or cannot start is an error, and leaves no child behind") {
    auto hung = run_subprocess({"/bin/sleep", "30"}, 200ms, 1024);
    REQUIRE_FALSE(hung.ok());
    CHECK(hung.error().code == "subprocess.timeout");
    // Closed its output, then hung: still bounded.
    auto quiet = run_subprocess({"/bin/sh", "-c", "exec >&-; sleep 30"}, 200ms, 1024);
    REQUIRE_FALSE(quiet.ok());
    CHECK(quiet.error().code == "subprocess.timeout");
    auto chatty = run_subprocess({"/usr/bin/yes"}, 10s, 64 * 1024);
    REQUIRE_FALSE(chatty.ok());
    CHECK(chatty.error().code == "subprocess.too_much_output");
    auto missing = run_subprocess({"/nonexistent/program"}, 1s, 1024);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "subprocess.spawn");
    CHECK(std::system("pgrep -x yes >/dev/null") != 0);
}
