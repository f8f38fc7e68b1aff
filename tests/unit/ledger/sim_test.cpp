// The seeded simulation as a test: a seed replays exactly (the partition split in the middle
// and the prepaid pairs included), and a forbidden policy is caught.
#include <catch2/catch.hpp>

#include "tools/ledger-sim/ledger_sim.h"

using namespace hisgate::ledger_sim;

TEST_CASE("ledger sim: a seed replays exactly") {
    auto a = run_ledger_sim({.seed = 11, .transactions = 800});
    auto b = run_ledger_sim({.seed = 11, .transactions = 800});
    REQUIRE(a.ok);
    CHECK(a.summary.find("split south -> south-a, south-b") != std::string::npos);  // the split replays too
    CHECK(a.summary.find("prepaid pairs ") != std::string::npos);  // and the prepaid pairs
    CHECK(a.summary == b.summary);
    CHECK(a.sim_ms == b.sim_ms);
    auto c = run_ledger_sim({.seed = 12, .transactions = 800});
    CHECK(c.summary != a.summary);
}

TEST_CASE("ledger sim: the invariants catch a policy that refunds on timeout") {
    auto r = run_ledger_sim({.seed = 7, .transactions = 1000, .broken_refund_on_timeout = true});
    REQUIRE_FALSE(r.ok);
    CHECK(r.failure.find("a payment the hospital committed") != std::string::npos);
}

TEST_CASE("ledger sim: the invariants catch a refund after POSTED paid back before the HIS confirmed it") {
    auto r = run_ledger_sim({.seed = 5, .transactions = 2000, .broken_refund_before_his = true});
    REQUIRE_FALSE(r.ok);
    CHECK(r.failure.find("before the HIS refunded it") != std::string::npos);
}

TEST_CASE("ledger sim: the invariants catch a policy that takes not-found as proof and refunds without a revoke") {
    auto r = run_ledger_sim({.seed = 3, .transactions = 2000, .broken_refund_on_not_found = true});
    REQUIRE_FALSE(r.ok);
    CHECK(r.failure.find("committed") != std::string::npos);
}
