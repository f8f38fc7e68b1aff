// Every request type the agent serves reaches the HIS through its queue and comes back
// in the envelope the control plane reads.
#include <catch2/catch.hpp>

#include "his-sim/hospital.h"
#include "control_plane_client.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// Sends one request and waits for its answer.
Envelope ask(test::ControlPlaneClient& cp, const std::string& type, nlohmann::json body) {
    auto answer = cp.ask(type, std::move(body), 20s);
    INFO(type);
    REQUIRE(answer);
    INFO(type << ": " << answer->to_json());
    return *answer;
}
}  // namespace

TEST_CASE("agent: every request type goes to the HIS and back") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    auto paid = ask(cp, "payment.pay", {{"orderId", "T-PAY-1"}, {"amountCents", 2500}, {"method", "wechat"}});
    REQUIRE_FALSE(paid.error);
    CHECK(paid.body["status"] == "paid");
    auto status = ask(cp, "payment.status", {{"orderId", "T-PAY-1"}});
    CHECK(status.body["status"] == "paid");
    CHECK(status.body["amountCents"] == 2500);
    auto refunded = ask(cp, "payment.refund", {{"orderId", "T-PAY-1"}, {"amountCents", 2500}, {"method", "wechat"}});
    CHECK(refunded.body["status"] == "refunded");
    auto statement = ask(cp, "statement.daily", {{"date", sim::utc_today()}});
    REQUIRE_FALSE(statement.error);
    CHECK(statement.body["lines"].size() == 2);  // the payment and its refund

    auto reports = ask(cp, "report.list", {{"patientId", "P-DEMO-1"}});
    REQUIRE_FALSE(reports.error);
    CHECK(reports.body["reports"][0]["reportId"] == "R-DEMO-1");

    auto unknown = ask(cp, "appointment.status", {{"orderId", "T-NEVER-BOOKED"}});
    CHECK(unknown.body["status"] == "not_found");
    auto cancel_unknown = ask(cp, "appointment.cancel", {{"orderId", "T-NEVER-BOOKED"}});
    REQUIRE(cancel_unknown.error);
    CHECK_THAT(cancel_unknown.error->message, Catch::Contains("T-NEVER-BOOKED"));

    auto missing_field = ask(cp, "payment.status", nlohmann::json::object());
    REQUIRE(missing_field.error);
    CHECK(missing_field.error->code == "request.invalid");
    CHECK_THAT(missing_field.error->message, Catch::Contains("body.orderId"));
}
