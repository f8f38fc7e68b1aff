// A change goes out to the HIS once per task attempt, in every dialect, whatever
// his.max_attempts says (it is for reads): when the answer to a booking, a cancellation
// or a payment is lost, the adapter reports the uncertain outcome to the agent, which
// settles it with a status query; it never sends the change again itself. Judged by the
// real his-sim process's own records, with a HIS that does not honour order ids (so a
// resend would execute twice).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/running_his.h"
#include "tests/support/system.h"

using namespace hisgate;

TEST_CASE("a change whose answer is lost goes out once, in every dialect") {
    auto dialect = GENERATE(as<std::string>{}, "hl7v2-mllp", "rest-json", "soap-xml");
    INFO(dialect);
    test::RunningHis his(nlohmann::json{{"dialect", dialect}, {"idempotent_orders", false}, {"max_attempts", 3},
                                        {"answer_timeout", "2s"}});
    auto& a = *his.adapter;
    auto lose_next_answer = [&] {
        REQUIRE(test::http_send(his.control_port, "PUT", "/faults", R"({"drop_after_commit": 1})").status == 200);
    };
    std::string slot = "S-DR-201-" + sim::utc_today() + "-AM";

    lose_next_answer();
    auto booked = a.book({"O-ONCE", slot, "P-DEMO-1"});
    REQUIRE_FALSE(booked.ok());  // the outcome is unknown, and said so
    CHECK(his.executions("O-ONCE", "book") == 1);
    CHECK(his.count("SELECT booked FROM slots WHERE slot_id = ?", slot) == 1);  // one seat, not two or three

    lose_next_answer();
    auto paid = a.pay({"PAY-ONCE", 1500, "cash"});
    REQUIRE_FALSE(paid.ok());
    CHECK(his.executions("PAY-ONCE", "pay") == 1);

    lose_next_answer();
    CHECK_FALSE(a.refund({"PAY-ONCE", 1500, "cash"}).ok());
    CHECK(his.executions("PAY-ONCE", "refund") == 1);

    lose_next_answer();
    CHECK_FALSE(a.cancel("O-ONCE").ok());
    CHECK(his.executions("O-ONCE", "cancel") == 1);

    // The agent settles them from the HIS's records (a read, which may be retried).
    auto status = a.payment_status("PAY-ONCE");
    REQUIRE(status.ok());
    CHECK(status->status == "refunded");
}

TEST_CASE("a read whose answer is lost is asked again, up to his.max_attempts") {
    // The other half of the rule: reads change nothing, so the adapter may retry them.
    test::RunningHis his(nlohmann::json{{"dialect", "hl7v2-mllp"}, {"max_attempts", 2}, {"answer_timeout", "2s"}});
    REQUIRE(his.adapter->pay({"PAY-READ", 1500, "cash"}).ok());
    REQUIRE(test::http_send(his.control_port, "PUT", "/faults", R"({"drop_after_commit": 1})").status == 200);
    auto status = his.adapter->payment_status("PAY-READ");
    REQUIRE(status.ok());
    CHECK(status->status == "paid");
}
