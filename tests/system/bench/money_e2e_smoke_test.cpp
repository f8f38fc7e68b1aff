// bench/money_e2e_bench, small and short: every row (routed requests, booking + payment
// flows), the settling of payments whose answers his-sim lost, and the refund of one the
// agent never carried must complete without an error and print their figures. The
// figures are not checked: the suite runs beside other work, and timing belongs to
// docs/benchmarks.md. The ledger's timers are shortened so that settling takes seconds, and
// the control plane waits for a payment's answer less than the agent waits for the HIS's,
// so a lost answer is the ledger's to settle (IN_DOUBT), not the agent's own status query.
#include <catch2/catch.hpp>

#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("bench smoke: money_e2e_bench completes flows and settles lost answers and prints its figures") {
    std::string dir = test::make_temp_dir("bench-smoke");
    test::Process bench({test::binary("bench/money_e2e_bench"), "--clients", "1,2", "--seconds", "1", "--warmup", "0",
                         "--settle", "1", "--settle-batch", "2", "--revoke", "1", "--revoke-away-s", "2",
                         "--his-answer-ms", "1000", "--controlplane-config",
                         R"({"request_timeouts_ms": {"payment.pay": 500}, "ledger": {"reply_timeout_ms": 1500, "first_probe_ms": 300, "probe_cap_ms": 1000,
                                        "retry_ms": 500, "max_probes": 1000}})"},
                        dir + "/bench.out");
    REQUIRE(bench.start());
    int status = bench.wait_exit(240s);
    std::string out = bench.output();
    INFO(out);
    CHECK(status == 0);  // the program's own verdict: every flow POSTED, every lost answer settled
    auto line = [&](const std::string& start) {
        auto at = out.find(start);
        return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
    };
    for (const char* row : {"RESULT routed c=1 ", "RESULT flows  c=1 ", "RESULT routed c=2 ", "RESULT flows  c=2 "}) {
        auto l = line(row);
        INFO(row);
        REQUIRE_FALSE(l.empty());
        CHECK(l.find(" errors=0") != std::string::npos);
        CHECK(l.find(" counted=0 ") == std::string::npos);
    }
    CHECK_FALSE(line("RATIO  c=2 ").empty());
    CHECK(line("SETTLE one   n=1 in_doubt=1 ").find(" errors=0") != std::string::npos);
    CHECK(line("SETTLE batch n=2 in_doubt=2 ").find(" errors=0") != std::string::npos);
    CHECK(line("REVOKE n=1 ").find(" errors=0") != std::string::npos);
    std::system(("rm -rf " + dir).c_str());
}
