// A change whose answer was lost, carried out again by the agent's task executor against
// the real his-sim process: the earlier attempt is settled from the HIS's records before
// anything else is decided, and whatever a HIS sends back never ends the process.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "agent/task_executor.h"
#include "appointment-rules/rule_set.h"
#include "common/clock.h"
#include "his-sim/hospital.h"
#include "tests/support/running_his.h"
#include "tests/support/system.h"
#include "transport/envelope.h"

using namespace hisgate;

namespace {

appointments::RuleSet rules(const char* json) {
    auto r = appointments::RuleSet::from_params(nlohmann::json::parse(json), "test.json");
    REQUIRE(r.ok());
    return r.value();
}

agent::Task booking_task(const std::string& slot_id, const std::string& slot_date, int attempt) {
    nlohmann::json body = {{"orderId", "O-DOUBT-1"},
                           {"slotId", slot_id},
                           {"slot", {{"doctorId", "DR-201"}, {"departmentId", "D-02"}, {"date", slot_date}, {"half", "AM"}}},
                           {"patient", {{"id", "P-DEMO-1"}}}};
    agent::Task t;
    t.id = "T-1";
    t.type = "appointment.book";
    t.request = Envelope::make("appointment.book", "H001", body).to_json();
    t.attempts = attempt;
    return t;
}

agent::Task payment_task(const std::string& order_id, int attempt) {
    agent::Task t;
    t.id = "T-PAY-" + order_id;
    t.type = "payment.pay";
    t.request = Envelope::make("payment.pay", "H001", {{"orderId", order_id}, {"amountCents", 1500}, {"method", "cash"}})
                    .to_json();
    t.attempts = attempt;
    return t;
}

}  // namespace

TEST_CASE("in doubt: \"not found\" settles an earlier payment only once it cannot still be running at the HIS") {
    // The first attempt is still being processed when its answer times out; the HIS's
    // status query, meanwhile, answers at once that it holds nothing.
    test::RunningHis his(nlohmann::json{{"idempotent_orders", false}, {"answer_timeout", "500ms"}, {"processing_horizon", "30s"}},
                         {{"latency_ms", 3000}});
    ManualClock clock;
    auto none = rules(R"({"rules": [], "timezone": "UTC"})");
    agent::TaskExecutor executor(*his.adapter, none, "H001", {.his_idempotent = false, .processing_horizon = std::chrono::seconds(30)},
                                 clock);
    auto first = executor.run(payment_task("PAY-SLOW", 1));
    REQUIRE(first.retry);
    REQUIRE(first.error_class == "timeout");
    REQUIRE(test::http_send(his.control_port, "PUT", "/faults", "{}").status == 200);  // answers are quick again

    clock.advance(std::chrono::seconds(1));  // the queue's first backoff
    auto second = executor.run(payment_task("PAY-SLOW", 2));
    INFO(second.answer);
    CHECK(second.retry);
    CHECK_THAT(second.error, Catch::Contains("his.in_doubt"));
    // The first attempt completes at the HIS; it was never sent again.
    REQUIRE(test::eventually([&] { return his.executions("PAY-SLOW", "pay") == 1; }, std::chrono::seconds(15)));

    clock.advance(std::chrono::seconds(30));  // past the horizon: the HIS's records are the truth
    auto third = executor.run(payment_task("PAY-SLOW", 3));
    INFO(third.answer);
    CHECK_FALSE(third.retry);
    CHECK(third.error.empty());
    auto reply = Envelope::parse(third.answer);
    REQUIRE(reply.ok());
    CHECK(reply->body.value("status", "") == "paid");
    CHECK(his.executions("PAY-SLOW", "pay") == 1);
}

TEST_CASE("in doubt: after the horizon, \"not found\" means the earlier attempt never reached the HIS, and it is sent") {
    test::RunningHis his(nlohmann::json{{"idempotent_orders", false}});
    ManualClock clock;
    auto none = rules(R"({"rules": [], "timezone": "UTC"})");
    agent::TaskExecutor executor(*his.adapter, none, "H001", {.his_idempotent = false, .processing_horizon = std::chrono::seconds(30)},
                                 clock);
    // Attempt 1 died before sending (an agent restart): this executor never sent it, so
    // the horizon counts from its creation.
    auto early = executor.run(payment_task("PAY-LOST", 2));
    CHECK(early.retry);
    CHECK_THAT(early.error, Catch::Contains("his.in_doubt"));
    CHECK(his.executions("PAY-LOST", "pay") == 0);
    clock.advance(std::chrono::seconds(31));
    auto sent = executor.run(payment_task("PAY-LOST", 3));
    INFO(sent.answer);
    CHECK(sent.error.empty());
    CHECK(his.executions("PAY-LOST", "pay") == 1);
}

TEST_CASE("in doubt: a booking that reached the HIS is settled before the rules are asked again") {
    // The first attempt books, and its answer is lost after the HIS committed.
    test::RunningHis his(nlohmann::json{{"idempotent_orders", false}}, {{"drop_after_commit", 1}});
    std::string today = sim::utc_today();
    std::string slot = "S-DR-201-" + today + "-AM";
    auto none = rules(R"({"rules": [], "timezone": "UTC"})");
    agent::TaskExecutor first(*his.adapter, none, "H001", {.his_idempotent = false});
    auto lost = first.run(booking_task(slot, today, 1));
    REQUIRE(lost.retry);  // the outcome is unknown: worth settling later
    REQUIRE(his.executions("O-DOUBT-1", "book") == 1);

    // By the retry a time rule has passed its boundary: the slot's day is now "passed"
    // (the platform's replica says so). The booking the HIS holds still stands.
    auto closed = rules(R"({"rules": [{"rule": "past_slots"}], "timezone": "UTC"})");
    agent::TaskExecutor retry(*his.adapter, closed, "H001", {.his_idempotent = false});
    auto settled = retry.run(booking_task(slot, "2000-01-03", 2));
    INFO(settled.answer);
    CHECK_FALSE(settled.retry);
    CHECK(settled.error.empty());
    auto reply = Envelope::parse(settled.answer);
    REQUIRE(reply.ok());
    CHECK(reply->body.value("orderId", "") == "O-DOUBT-1");
    CHECK(reply->body.value("status", "") == "booked");
    CHECK(his.executions("O-DOUBT-1", "book") == 1);  // settled from the records, not booked again

    // A first attempt is still judged by the rules, and nothing reaches the HIS.
    auto refused = retry.run(booking_task(slot, "2000-01-03", 1));
    CHECK_FALSE(refused.retry);
    CHECK(refused.error_class == "rejected");
    CHECK(his.count("SELECT count(*) FROM executions WHERE operation = ?1", "book") == 1);
}

TEST_CASE("a report's time at every precision HL7 allows is delivered, never a crash") {
    // his-sim keeps issued_at as the HL7 DTM its HL7 dialect sends; its REST dialect sends
    // the ISO form of the same value.
    struct Case {
        const char* stored;
        const char* hl7_delivered;   // through the HL7 adapter, hospital zone Asia/Shanghai
        const char* rest_delivered;  // through the REST adapter
    };
    const Case cases[] = {
        {"20240101", "2024-01-01", "2024-01-01"},
        {"", "", ""},
        {"2024", "2024", "2024"},
        {"202401", "2024-01", "2024-01"},
        {"2024010112", "2024-01-01T12:00+08:00", "2024-01-01T12:00+08:00"},
        {"202401011200", "2024-01-01T12:00+08:00", "2024-01-01T12:00+08:00"},
        {"20240101120030", "2024-01-01T12:00:30+08:00", "2024-01-01T12:00:30+08:00"},
        {"20240101120030.1234", "2024-01-01T12:00:30.1234+08:00", "2024-01-01T12:00:30.1234+08:00"},
        {"20240101120030+0100", "2024-01-01T12:00:30+01:00", "2024-01-01T12:00:30+01:00"},
        {"yesterday", "yesterday", "yesterday"},
    };
    for (const char* dialect : {"hl7v2-mllp", "rest-json"}) {
        DYNAMIC_SECTION(dialect) {
            test::RunningHis his(nlohmann::json{{"dialect", dialect}, {"timezone", "Asia/Shanghai"}});
            auto none = rules(R"({"rules": [], "timezone": "UTC"})");
            agent::TaskExecutor executor(*his.adapter, none, "H001", {.his_idempotent = true});
            for (const auto& c : cases) {
                INFO("stored " << c.stored);
                his.execute("UPDATE reports SET issued_at = ?2 WHERE report_id = ?1", "R-DEMO-1", c.stored);
                std::string want = std::string(dialect) == "rest-json" ? c.rest_delivered : c.hl7_delivered;
                auto report = his.adapter->get_report("R-DEMO-1");
                REQUIRE(report.ok());
                CHECK(report->issued_at == want);
                auto list = his.adapter->list_reports("P-DEMO-1");
                REQUIRE(list.ok());
                REQUIRE(list->size() == 1);
                CHECK(list->front().issued_at == want);
                // And as a task: answered, never an exception out of a worker.
                agent::Task t;
                t.id = "T-R";
                t.type = "report.get";
                t.request = Envelope::make("report.get", "H001", {{"reportId", "R-DEMO-1"}}).to_json();
                t.attempts = 1;
                auto outcome = executor.run(t);
                CHECK(outcome.error.empty());
            }
        }
    }
}
