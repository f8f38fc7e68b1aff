// bench/routed_requests_bench, small and short: both rows (the direct MQTT round trip and
// the routed HTTP requests through the control plane) must answer every request they
// send, 200 "booked", on keep-alive connections. Its figures are not checked: the suite
// runs beside other work, and timing belongs to docs/benchmarks.md.
#include <catch2/catch.hpp>

#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("bench smoke: routed_requests_bench answers every request, directly and through the control plane") {
    std::string dir = test::make_temp_dir("bench-smoke");
    test::Process bench({test::binary("bench/routed_requests_bench"), "--agents", "4", "--concurrency", "4", "--seconds", "1",
                         "--warmup", "0", "--agent-procs", "1"},
                        dir + "/bench.out");
    REQUIRE(bench.start());
    int status = bench.wait_exit(120s);
    std::string out = bench.output();
    INFO(out);
    CHECK(status == 0);  // the program's own verdict: no error, no unanswered request
    for (const char* row : {"RESULT ceiling ", "RESULT routed "}) {
        auto at = out.find(row);
        REQUIRE(at != std::string::npos);
        auto line = out.substr(at, out.find('\n', at) - at);
        CHECK(line.find(" errors=0") != std::string::npos);
        CHECK(line.find(" counted=0 ") == std::string::npos);
    }
    std::system(("rm -rf " + dir).c_str());
}
