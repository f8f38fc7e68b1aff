// Money before booking: refused exactly when a fee is unpaid or the deposit falls short.
#include <algorithm>

#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using nlohmann::json;

TEST_CASE("prepayment_required: refused iff the slot has a fee and it is not prepaid") {
    SEEDED(draw);
    booking_property(draw, "prepayment_required", 300, [](Draw&) { return json::object(); },
                     [](const Trial& t) { return t.request.slot.fee > 0 && !t.counts.prepaid; });
}

TEST_CASE("deposit_required: refused iff the deposit paid is below the larger of the slot's and the minimum") {
    SEEDED(draw);
    booking_property(
        draw, "deposit_required", 400,
        [](Draw& d) { return d.chance(50) ? json::object() : json{{"min_amount", d.between(0, 20) * 1000}}; },
        [](const Trial& t) {
            int64_t minimum = t.params.value("min_amount", int64_t(0));
            return t.counts.deposit_paid < std::max(t.request.slot.deposit, minimum);
        });
}

TEST_CASE("payment messages show the amount in currency units") {
    BookingRequest b;
    b.slot.date = std::chrono::year{2026} / 11 / 28;
    b.slot.fee = 2550;
    b.slot.deposit = 10000;
    BookingCounts c{.deposit_paid = 2000};
    auto fee = rules(json::array({{{"rule", "prepayment_required"}}})).check_booking(b, c);
    require_refused_by(fee, "prepayment_required");
    CHECK(fee->message_for_patient == "This appointment must be paid in advance. Please pay the fee of 25.50, then book.");
    auto deposit = rules(json::array({{{"rule", "deposit_required"}}})).check_booking(b, c);
    require_refused_by(deposit, "deposit_required");
    CHECK_THAT(deposit->message_for_patient, Catch::StartsWith("This appointment needs a deposit of 100.00 (you have paid 20.00)."));
}
