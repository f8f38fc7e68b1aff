// his.idempotent_orders, as the real his-sim process plays it: a HIS that honours the order
// id answers a repeat from its records; one that does not executes it again, and the double
// execution shows in its SQLite records (counted the way hospital.h says tests count them).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/running_his.h"

using namespace hisgate;


TEST_CASE("his.idempotent_orders true: a repeated booking, payment or refund is answered from the HIS's records") {
    test::RunningHis his(nlohmann::json{{"idempotent_orders", true}});
    auto& a = *his.adapter;
    std::string slot = "S-DR-201-" + sim::utc_today() + "-AM";  // a half-day quota of 20
    REQUIRE(a.book({"O-1", slot, "P-DEMO-1"}).ok());
    REQUIRE(a.book({"O-1", slot, "P-DEMO-1"}).ok());
    CHECK(his.executions("O-1", "book") == 1);
    CHECK(his.count("SELECT count(*) FROM bookings WHERE order_id = ?", "O-1") == 1);
    CHECK(a.book({"O-1", "S-DR-201-" + sim::utc_today() + "-PM", "P-DEMO-1"}).error().code == "his.ORDER_CONFLICT");
    CHECK(his.executions("O-1", "book") == 1);

    REQUIRE(a.pay({"PAY-1", 1500, "cash"}).ok());
    REQUIRE(a.pay({"PAY-1", 1500, "cash"}).ok());
    CHECK(his.executions("PAY-1", "pay") == 1);
    CHECK(his.count("SELECT count(*) FROM payments WHERE order_id = ?", "PAY-1") == 1);
    REQUIRE(a.refund({"PAY-1", 1500, "cash"}).ok());
    REQUIRE(a.refund({"PAY-1", 1500, "cash"}).ok());
    CHECK(his.executions("PAY-1", "refund") == 1);
    CHECK(his.count("SELECT count(*) FROM statement WHERE order_id = ? AND kind = 'refund'", "PAY-1") == 1);
}

TEST_CASE("his.idempotent_orders false: his-sim executes a repeated booking, payment or refund again") {
    test::RunningHis his(nlohmann::json{{"idempotent_orders", false}});
    auto& a = *his.adapter;
    std::string slot = "S-DR-201-" + sim::utc_today() + "-AM";
    REQUIRE(a.book({"O-1", slot, "P-DEMO-1"}).ok());
    REQUIRE(a.book({"O-1", slot, "P-DEMO-1"}).ok());
    CHECK(his.executions("O-1", "book") == 2);
    CHECK(his.count("SELECT count(*) FROM bookings WHERE order_id = ?", "O-1") == 2);
    CHECK(his.count("SELECT booked FROM slots WHERE slot_id = ?", slot) == 2);  // two seats taken
    // Other parameters are no conflict to a HIS that does not keep the id: a third booking.
    REQUIRE(a.book({"O-1", "S-DR-201-" + sim::utc_today() + "-PM", "P-DEMO-1"}).ok());
    CHECK(his.executions("O-1", "book") == 3);
    auto held = a.booking_status("O-1");  // the latest booking of that order id
    REQUIRE(held.ok());
    CHECK(held->slot_id == "S-DR-201-" + sim::utc_today() + "-PM");

    REQUIRE(a.pay({"PAY-1", 1500, "cash"}).ok());
    REQUIRE(a.pay({"PAY-1", 1500, "cash"}).ok());
    CHECK(his.executions("PAY-1", "pay") == 2);
    CHECK(his.count("SELECT count(*) FROM payments WHERE order_id = ?", "PAY-1") == 2);
    CHECK(his.count("SELECT count(*) FROM statement WHERE order_id = ? AND kind = 'payment'", "PAY-1") == 2);
    REQUIRE(a.refund({"PAY-1", 1500, "cash"}).ok());
    REQUIRE(a.refund({"PAY-1", 1500, "cash"}).ok());
    CHECK(his.executions("PAY-1", "refund") == 2);
    auto lines = a.daily_statement(sim::utc_today());
    REQUIRE(lines.ok());
    CHECK(lines->size() == 4);  // two payments and two refunds of one order: what a reconciliation must catch

    // Refusals and queries are not executions.
    CHECK(a.refund({"PAY-404", 100, "cash"}).error().cls == ErrorClass::NotFound);
    CHECK(his.executions("PAY-404", "refund") == 0);
    REQUIRE(a.payment_status("PAY-1").ok());
    CHECK(his.executions("PAY-1", "pay") == 2);
}

TEST_CASE("his-sim refuses a hospital file of an older schema, saying what to do") {
    std::string dir = test::make_temp_dir("his-old");
    {
        auto db = sql::Db::open(dir + "/his.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec("CREATE TABLE bookings(order_id TEXT PRIMARY KEY, slot_id TEXT, patient_id TEXT, status TEXT)").ok());
    }
    auto h = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().cls == ErrorClass::Config);
    CHECK_THAT(h.error().message, Catch::Contains("schema version 0") && Catch::Contains("remove the file"));
}
