// The agent's revoke fence (agent/order_fence.h) with the real agent process, Mosquitto and
// his-sim (a HIS that executes every repeat, idempotent_orders=false): after a revoke
// answered "revoked", no change for the order reaches the HIS, whenever it arrives and
// across a kill -9; a change the HIS committed first makes the revoke "already_committed".
// What the HIS did is read from his-sim's own records (its executions table and statement).
#include <catch2/catch.hpp>

#include "control_plane_client.h"
#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

Envelope ask_agent(test::ControlPlaneClient& cp, const std::string& type, nlohmann::json body) {
    auto answer = cp.ask(type, std::move(body), 60s);
    INFO(type);
    REQUIRE(answer);
    INFO(type << ": " << answer->to_json());
    return *answer;
}


nlohmann::json pay_body(const std::string& order) {
    return {{"orderId", order}, {"amountCents", 1500}, {"method", "cash"}};
}

nlohmann::json book_body(const std::string& order) {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-201-" + today + "-AM"},
            {"slot", {{"doctorId", "DR-201"}, {"departmentId", "D-02"}, {"date", today}, {"half", "AM"}}},
            {"patient", {{"id", "P-DEMO-1"}}}};
}

test::SystemOptions options() {
    return {.hospitals = {"H001"}, .his_params = {{"H001", R"({"idempotent_orders": false})"}}};
}

}  // namespace

TEST_CASE("agent revoke: a payment revoked before it came is refused, and the HIS holds nothing") {
    test::System sys(options());
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto revoked = ask_agent(cp, "payment.revoke", {{"orderId", "ORD-REVOKED-1"}});
    REQUIRE_FALSE(revoked.error);
    CHECK(revoked.body["outcome"] == "revoked");
    CHECK(revoked.body["status"] == "not_found");

    // The change arrives late (a delayed delivery, a task queued here): refused.
    auto late = ask_agent(cp, "payment.pay", pay_body("ORD-REVOKED-1"));
    REQUIRE(late.error);
    CHECK(late.error->code == "order.revoked");
    CHECK(late.error->cls == ErrorClass::Rejected);
    CHECK(sys.his_executions("H001", "ORD-REVOKED-1", "pay") == 0);
    CHECK(sys.his_count("H001", "SELECT count(*) FROM payments WHERE order_id = ?1", {"ORD-REVOKED-1"}) == 0);
    CHECK(sys.his_count("H001", "SELECT count(*) FROM statement WHERE order_id = ?1", {"ORD-REVOKED-1"}) == 0);

    // A second revoke answers the same; the fence stands.
    auto again = ask_agent(cp, "payment.revoke", {{"orderId", "ORD-REVOKED-1"}});
    CHECK(again.body["outcome"] == "revoked");

    // Another order is untouched by the fence.
    auto other = ask_agent(cp, "payment.pay", pay_body("ORD-OTHER-1"));
    REQUIRE_FALSE(other.error);
    CHECK(sys.his_executions("H001", "ORD-OTHER-1", "pay") == 1);
}

TEST_CASE("agent revoke: a payment the HIS committed first answers already_committed") {
    test::System sys(options());
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto paid = ask_agent(cp, "payment.pay", pay_body("ORD-PAID-1"));
    REQUIRE_FALSE(paid.error);
    auto revoked = ask_agent(cp, "payment.revoke", {{"orderId", "ORD-PAID-1"}});
    REQUIRE_FALSE(revoked.error);
    CHECK(revoked.body["outcome"] == "already_committed");
    CHECK(revoked.body["status"] == "paid");
    // The fence still stands for further changes (harmless: the order is settled).
    auto twice = ask_agent(cp, "payment.pay", pay_body("ORD-PAID-1"));
    REQUIRE(twice.error);
    CHECK(twice.error->code == "order.revoked");
    CHECK(sys.his_executions("H001", "ORD-PAID-1", "pay") == 1);
    // A refund undoes a committed payment: the fence does not stand in its way.
    auto refunded = ask_agent(cp, "payment.refund", pay_body("ORD-PAID-1"));
    REQUIRE_FALSE(refunded.error);
    CHECK(refunded.body["status"] == "refunded");
}

TEST_CASE("agent revoke: the fence survives a kill -9 and a restart of the agent") {
    test::System sys(options());
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto revoked = ask_agent(cp, "payment.revoke", {{"orderId", "ORD-DURABLE-1"}});
    REQUIRE_FALSE(revoked.error);
    REQUIRE(revoked.body["outcome"] == "revoked");
    auto booking_revoked = ask_agent(cp, "appointment.revoke", {{"orderId", "BK-DURABLE-1"}});
    REQUIRE_FALSE(booking_revoked.error);
    REQUIRE(booking_revoked.body["outcome"] == "revoked");

    sys.agent("H001").kill9();
    REQUIRE(sys.start_agent("H001"));

    auto late = ask_agent(cp, "payment.pay", pay_body("ORD-DURABLE-1"));
    REQUIRE(late.error);
    CHECK(late.error->code == "order.revoked");
    auto late_booking = ask_agent(cp, "appointment.book", book_body("BK-DURABLE-1"));
    REQUIRE(late_booking.error);
    CHECK(late_booking.error->code == "order.revoked");
    CHECK(sys.his_executions("H001", "ORD-DURABLE-1", "pay") == 0);
    CHECK(sys.his_executions("H001", "BK-DURABLE-1", "book") == 0);
}

TEST_CASE("agent revoke: a booking revoked before it came is refused, and one booked first answers already_committed") {
    test::System sys(options());
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto revoked = ask_agent(cp, "appointment.revoke", {{"orderId", "BK-REVOKED-1"}});
    REQUIRE_FALSE(revoked.error);
    CHECK(revoked.body["outcome"] == "revoked");
    auto late = ask_agent(cp, "appointment.book", book_body("BK-REVOKED-1"));
    REQUIRE(late.error);
    CHECK(late.error->code == "order.revoked");
    CHECK(sys.his_executions("H001", "BK-REVOKED-1", "book") == 0);
    CHECK(sys.his_count("H001", "SELECT count(*) FROM bookings WHERE order_id = ?1", {"BK-REVOKED-1"}) == 0);

    auto booked = ask_agent(cp, "appointment.book", book_body("BK-BOOKED-1"));
    REQUIRE_FALSE(booked.error);
    auto too_late = ask_agent(cp, "appointment.revoke", {{"orderId", "BK-BOOKED-1"}});
    REQUIRE_FALSE(too_late.error);
    CHECK(too_late.body["outcome"] == "already_committed");
    CHECK(too_late.body["status"] == "booked");

    // A booking cancelled before the revoke holds nothing: revoked.
    auto held = ask_agent(cp, "appointment.book", book_body("BK-CANCELLED-1"));
    REQUIRE_FALSE(held.error);
    auto cancelled = ask_agent(cp, "appointment.cancel", {{"orderId", "BK-CANCELLED-1"}});
    REQUIRE_FALSE(cancelled.error);
    auto after_cancel = ask_agent(cp, "appointment.revoke", {{"orderId", "BK-CANCELLED-1"}});
    REQUIRE_FALSE(after_cancel.error);
    CHECK(after_cancel.body["outcome"] == "revoked");
    CHECK(after_cancel.body["status"] == "cancelled");
}

TEST_CASE("agent revoke: a revoke racing a payment at a slow HIS answers what the HIS did, and the HIS executes it at most once") {
    // Every HIS answer takes 1.5 s, so the payment is usually still at the HIS when the
    // revoke comes: the revoke then waits (his.in_doubt, retried by the agent's queue) until
    // the payment's answer is in. Whichever came first, the answers agree with the HIS.
    test::System sys({.hospitals = {"H001"},
                      .his_ack_timeout_ms = 10000,
                      .sim_faults = {{"H001", R"({"latency_ms": 1500})"}},
                      .his_params = {{"H001", R"({"idempotent_orders": false})"}}});
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto pay = Envelope::make("payment.pay", "H001", pay_body("ORD-RACE-1"));
    auto revoke = Envelope::make("payment.revoke", "H001", {{"orderId", "ORD-RACE-1"}});
    REQUIRE(cp.send(pay));
    REQUIRE(cp.send(revoke));
    REQUIRE(test::eventually([&] {
        auto all = cp.answers();
        return all.count(pay.id) && all.count(revoke.id);
    }, 90s));
    auto all = cp.answers();
    const Envelope& paid = all.at(pay.id);
    const Envelope& revoked = all.at(revoke.id);
    INFO("pay: " << paid.to_json() << "\nrevoke: " << revoked.to_json());
    REQUIRE_FALSE(revoked.error);
    if (revoked.body["outcome"] == "already_committed") {
        CHECK_FALSE(paid.error);
        CHECK(sys.his_executions("H001", "ORD-RACE-1", "pay") == 1);
    } else {
        CHECK(revoked.body["outcome"] == "revoked");
        REQUIRE(paid.error);
        CHECK(paid.error->code == "order.revoked");
        CHECK(sys.his_executions("H001", "ORD-RACE-1", "pay") == 0);
    }
}

TEST_CASE("agent revoke: a refund or cancel is fenced by its request id - the revoked round is refused, the next round goes through, a done one answers already_committed") {
    test::System sys(options());
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());
    auto round = [&](const std::string& type, nlohmann::json body, const std::string& request_id) {
        auto request = Envelope::make(type, "H001", std::move(body));
        request.id = request_id;  // the ledger's request id of that round (<id>-change-<attempt>)
        auto answer = cp.ask(request, 60s);
        INFO(type << " " << request_id);
        REQUIRE(answer);
        return *answer;
    };

    REQUIRE_FALSE(ask_agent(cp, "payment.pay", pay_body("ORD-RF-1")).error);
    // An operator found round 1 not done: revoked while the HIS still shows the order paid.
    auto revoked = ask_agent(cp, "payment.refund_revoke", {{"orderId", "ORD-RF-1"}, {"changeId", "RF-1-change-1"}});
    REQUIRE_FALSE(revoked.error);
    CHECK(revoked.body["outcome"] == "revoked");
    CHECK(revoked.body["status"] == "paid");
    // Round 1 arrives late (it was queued behind a HIS outage, or delayed): refused, nothing refunded.
    auto late = round("payment.refund", pay_body("ORD-RF-1"), "RF-1-change-1");
    REQUIRE(late.error);
    CHECK(late.error->code == "order.revoked");
    CHECK(sys.his_executions("H001", "ORD-RF-1", "refund") == 0);
    // The next round of the same order is another request: it goes through, once.
    auto next = round("payment.refund", pay_body("ORD-RF-1"), "RF-2-change-1");
    REQUIRE_FALSE(next.error);
    CHECK(next.body["status"] == "refunded");
    CHECK(sys.his_executions("H001", "ORD-RF-1", "refund") == 1);
    auto done = ask_agent(cp, "payment.refund_revoke", {{"orderId", "ORD-RF-1"}, {"changeId", "RF-2-change-1"}});
    REQUIRE_FALSE(done.error);
    CHECK(done.body["outcome"] == "already_committed");
    CHECK(done.body["status"] == "refunded");

    // A cancel the same way: revoked while booked, its late copy refused, the booking stands.
    REQUIRE_FALSE(ask_agent(cp, "appointment.book", book_body("BK-CX-1")).error);
    auto cancel_revoked = ask_agent(cp, "appointment.cancel_revoke", {{"orderId", "BK-CX-1"}, {"changeId", "CX-1-change-1"}});
    REQUIRE_FALSE(cancel_revoked.error);
    CHECK(cancel_revoked.body["outcome"] == "revoked");
    CHECK(cancel_revoked.body["status"] == "booked");
    sys.agent("H001").kill9();  // the fence is in the agent's state file
    REQUIRE(sys.start_agent("H001"));
    auto late_cancel = round("appointment.cancel", {{"orderId", "BK-CX-1"}}, "CX-1-change-1");
    REQUIRE(late_cancel.error);
    CHECK(late_cancel.error->code == "order.revoked");
    CHECK(sys.his_executions("H001", "BK-CX-1", "cancel") == 0);
    CHECK(sys.his_count("H001", "SELECT count(*) FROM bookings WHERE order_id = ?1 AND status = 'booked'", {"BK-CX-1"}) == 1);

    // Without the request id the revoke cannot fence anything: a clear refusal.
    auto unnamed = ask_agent(cp, "payment.refund_revoke", {{"orderId", "ORD-RF-1"}});
    REQUIRE(unnamed.error);
    CHECK(unnamed.error->code == "request.invalid");
    CHECK(unnamed.error->message.find("changeId") != std::string::npos);
    // An oversized one is refused by the agent's bound on every body id (limits.h kIdBytes)
    // before the handler runs, so nothing is fenced (a fence is kept for good).
    auto oversized = ask_agent(cp, "payment.refund_revoke", {{"orderId", "ORD-RF-1"}, {"changeId", std::string(4096, 'x')}});
    REQUIRE(oversized.error);
    CHECK(oversized.error->code == "request.too_long");
    CHECK(oversized.error->message.find("body.changeId is at most 64 bytes") != std::string::npos);
}
