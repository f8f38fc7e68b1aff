// Prepaid bookings (docs/ledger.md, "Prepaid bookings"): a booking that requires
// prepayment and its payment are stored together, each naming the other; pay first, then
// book; the booking is sent to the HIS only on a POSTED payment, and if either side does
// not stand the other is released (voided, cancelled, or refunded by a correction after
// POSTED). A lost answer on either leg is IN_DOUBT and settled by evidence, never released.
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "controlplane/ledger/confirmer.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using namespace std::chrono_literals;

namespace {

using test_util::RecordingHis;
using test_util::RecordingProvider;

struct Pair {
    TransactionIntent booking, payment;
};

struct PrepaidFixture : test_util::ConfirmerRig {
    PrepaidFixture() : ConfirmerRig("prepaid") {}
    Pair pair(int64_t fen = 2500) {
        Pair p;
        p.payment = test_util::intent(new_id(), fen);
        p.payment.purpose = "registration";
        p.payment.deadline_ms = clock.wall_ms() + 30'000;
        p.booking = p.payment;
        p.booking.id = new_id();
        p.booking.kind = TxKind::Booking;
        p.booking.purpose = "SLOT-7";
        p.booking.deadline_ms = 0;
        p.booking.binds = p.payment.id;
        p.payment.binds = p.booking.id;
        return p;
    }
    bool history_has(const std::string& id, const std::string& event, const std::string& words) {
        for (const auto& e : store->history(id).value())
            if (e.event == event && e.evidence.find(words) != std::string::npos) return true;
        return false;
    }
    // Created, paid at the provider, committed at the HIS: the booking is on its way.
    Pair paid() {
        Pair p = pair();
        REQUIRE(confirmer->create_prepaid(p.booking, p.payment));
        confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
        confirmer->on_change_reply(p.payment.id, true);
        REQUIRE(state(p.payment.id) == TxState::Posted);
        REQUIRE(state(p.booking.id) == TxState::Dispatched);
        return p;
    }
};

}  // namespace

TEST_CASE("prepaid: both succeed - the booking goes to the HIS only after its payment is POSTED") {
    PrepaidFixture f;
    Pair p = f.pair();
    auto created = f.confirmer->create_prepaid(p.booking, p.payment);
    REQUIRE(created);
    CHECK(created->intent.id == p.booking.id);
    CHECK(created->state == TxState::Held);  // the slot is held, nothing sent
    CHECK(f.state(p.payment.id) == TxState::Created);
    CHECK(f.store->get(p.payment.id).value()->intent.binds == p.booking.id);
    CHECK(f.his.sent.empty());
    // The store itself refuses the booking's dispatch while the payment is not POSTED.
    auto early = f.store->apply_one(test_util::move(p.booking.id, TxState::Dispatched), 1);
    REQUIRE_FALSE(early);
    CHECK(early.error().code == "ledger.binding_unpaid");
    CHECK(early.error().message.find("CREATED") != std::string::npos);

    f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
    CHECK(f.state(p.payment.id) == TxState::Dispatched);
    CHECK(f.his.count("change:" + p.booking.id) == 0);
    f.confirmer->on_change_reply(p.payment.id, true);
    CHECK(f.state(p.payment.id) == TxState::Posted);
    CHECK(f.state(p.booking.id) == TxState::Dispatched);
    CHECK(f.his.sent == std::vector<std::string>{"change:" + p.payment.id, "change:" + p.booking.id});
    f.confirmer->on_change_reply(p.booking.id, true);
    CHECK(f.state(p.booking.id) == TxState::Posted);
    CHECK(f.provider.sent.empty());
    CHECK(f.confirmer->timers() == 0);
    // A retry of the pair answers the stored booking and sends nothing.
    auto again = f.confirmer->create_prepaid(p.booking, p.payment);
    REQUIRE(again);
    CHECK(again->state == TxState::Posted);
    CHECK(f.his.sent.size() == 2);
}

TEST_CASE("prepaid: the payment does not stand - the booking is released and never sent") {
    PrepaidFixture f;
    SECTION("unpaid by the deadline: the order is closed, the payment VOIDED, the slot released") {
        Pair p = f.pair();
        REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
        f.step(30s);
        REQUIRE(f.provider.count("close:" + p.payment.id) == 1);
        CHECK(f.state(p.booking.id) == TxState::Held);  // not released before the close answers
        f.confirmer->on_close_answer(p.payment.id, CloseOutcome::Closed);
        CHECK(f.state(p.payment.id) == TxState::Voided);
        CHECK(f.state(p.booking.id) == TxState::Voided);
        CHECK(f.his.sent.empty());
    }
    SECTION("rejected at the HIS: refunded at the provider, then the slot released") {
        Pair p = f.pair();
        REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
        f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
        f.confirmer->on_change_reply(p.payment.id, false);
        CHECK(f.state(p.payment.id) == TxState::Rejected);
        CHECK(f.state(p.booking.id) == TxState::Held);
        f.confirmer->on_refund_answer(p.payment.id, true);
        CHECK(f.state(p.payment.id) == TxState::Refunded);
        CHECK(f.state(p.booking.id) == TxState::Voided);
        CHECK(f.his.count("change:" + p.booking.id) == 0);
    }
    SECTION("the patient cancels the booking before paying: the payment's order is closed too") {
        Pair p = f.pair();
        REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
        REQUIRE(f.confirmer->cancel(p.booking.id));
        CHECK(f.state(p.booking.id) == TxState::Voided);
        CHECK(f.state(p.payment.id) == TxState::Rejected);
        CHECK(f.provider.count("close:" + p.payment.id) == 1);
        f.confirmer->on_close_answer(p.payment.id, CloseOutcome::Closed);
        CHECK(f.state(p.payment.id) == TxState::Voided);
        CHECK(f.his.sent.empty());
    }
    CHECK(f.confirmer->timers() == 0);
}

TEST_CASE("prepaid: the booking rejected at the HIS after its payment POSTED - a refund correction") {
    PrepaidFixture f;
    Pair p = f.paid();
    f.confirmer->on_change_reply(p.booking.id, false);
    const std::string refund = prepaid_refund_id(p.booking.id);
    CHECK(f.state(p.booking.id) == TxState::Voided);
    auto fix = f.store->get(refund).value();
    REQUIRE(fix);
    CHECK(fix->intent.kind == TxKind::Refund);
    CHECK(fix->intent.corrects == p.payment.id);
    CHECK(fix->intent.amount_fen == p.payment.amount_fen);
    CHECK(fix->state == TxState::Dispatched);       // the HIS refunds first
    CHECK(f.his.count("change:" + refund) == 1);
    CHECK(f.provider.sent.empty());                 // no money back before the HIS says so
    f.confirmer->on_change_reply(refund, true);
    CHECK(f.provider.count("refund:" + refund + ":of:" + p.payment.id) == 1);
    f.confirmer->on_refund_answer(refund, true);
    CHECK(f.state(refund) == TxState::Posted);
    CHECK(f.state(p.payment.id) == TxState::Posted);  // terminal: corrected, never changed
    CHECK(f.confirmer->timers() == 0);
}

// A prepaid booking the HIS holds, cancelled by the patient (a cancel correction after
// POSTED): its payment is refunded (a refund correction, the HIS first, then the provider)
// only once the HIS cancelled the booking; a cancel the HIS refused refunds nothing.
TEST_CASE("prepaid: a POSTED pair cancelled - the payment refunded once, only after the HIS cancelled") {
    PrepaidFixture f;
    Pair p = f.paid();
    f.confirmer->on_change_reply(p.booking.id, true);
    REQUIRE(f.state(p.booking.id) == TxState::Posted);
    TransactionIntent cancel = p.booking;
    cancel.id = new_id();
    cancel.kind = TxKind::Cancel;
    cancel.purpose = "cancel";
    cancel.binds.clear();
    cancel.corrects = p.booking.id;
    REQUIRE(f.confirmer->create(cancel));
    const std::string refund = prepaid_refund_id(p.booking.id);
    CHECK(f.his.count("change:" + cancel.id) == 1);
    CHECK_FALSE(f.store->get(refund).value());  // nothing refunded while the cancel is under way
    SECTION("the HIS cancelled: the cancel and the refund stored together, then refunded once") {
        f.step(10s);  // the cancel's answer is lost: IN_DOUBT, still no refund
        REQUIRE(f.state(cancel.id) == TxState::InDoubt);
        CHECK_FALSE(f.store->get(refund).value());
        f.confirmer->on_probe_answer(cancel.id, HisStatus::Committed);
        CHECK(f.state(cancel.id) == TxState::Posted);
        auto fix = f.store->get(refund).value();
        REQUIRE(fix);
        CHECK(fix->intent.kind == TxKind::Refund);
        CHECK(fix->intent.corrects == p.payment.id);
        CHECK(fix->intent.amount_fen == p.payment.amount_fen);
        CHECK(f.his.count("change:" + refund) == 1);  // the HIS refunds first
        CHECK(f.provider.sent.empty());
        f.confirmer->on_change_reply(refund, true);
        CHECK(f.provider.count("refund:" + refund + ":of:" + p.payment.id) == 1);
        f.confirmer->on_refund_answer(refund, true);
        CHECK(f.state(refund) == TxState::Posted);
        CHECK(f.state(p.payment.id) == TxState::Posted);  // corrected, never changed
        CHECK(f.state(p.booking.id) == TxState::Posted);
        REQUIRE(f.restart());  // nothing is created or sent twice
        CHECK(f.store->corrections_of(p.payment.id)->size() == 1);
        CHECK(f.his.count("change:" + refund) == 1);
        CHECK(f.provider.sent.size() == 1);
        CHECK(f.confirmer->timers() == 0);
    }
    SECTION("the HIS refused the cancel: the booking stands and nothing is refunded") {
        f.confirmer->on_change_reply(cancel.id, false);
        CHECK(f.state(cancel.id) == TxState::Voided);
        CHECK_FALSE(f.store->get(refund).value());
        CHECK(f.store->corrections_of(p.payment.id)->empty());
        CHECK(f.provider.sent.empty());
        CHECK(f.his.count("change:" + refund) == 0);
    }
    SECTION("a restart between the cancel's CONFIRMED and its POSTED: the refund is created once") {
        REQUIRE(f.store->apply_one(test_util::move(cancel.id, TxState::Confirmed, "reply:committed"), 5));
        REQUIRE(f.restart());
        CHECK(f.state(cancel.id) == TxState::Posted);
        CHECK(f.his.count("change:" + refund) == 1);
        REQUIRE(f.restart());
        CHECK(f.his.count("change:" + refund) == 1);
        CHECK(f.store->corrections_of(p.payment.id)->size() == 1);
    }
}

// The provider refuses a prepaid refund (pay-sim's refund_fail): never resent on the
// refusal, asked again when due, each wait twice the one before up to the cap (retry 5 s,
// probe_cap 60 s), stored before each ask so a restart keeps the count and the time; after
// max_probes (3) asks also the manual queue, and still asked; one answer "refunded" ends it.
TEST_CASE("prepaid: a refund the provider refuses is asked again later each time, then the manual queue too") {
    PrepaidFixture f;
    Pair p = f.paid();
    f.confirmer->on_change_reply(p.booking.id, false);  // the slot refused: the payment is refunded
    const std::string refund = prepaid_refund_id(p.booking.id);
    f.confirmer->on_change_reply(refund, true);  // the HIS refunded; now the provider
    REQUIRE(f.state(refund) == TxState::Confirmed);
    const std::string ask = "refund:" + refund + ":of:" + p.payment.id;
    REQUIRE(f.provider.count(ask) == 1);
    f.confirmer->on_refund_answer(refund, false);
    CHECK(f.provider.count(ask) == 1);  // a refusal sends nothing by itself
    CHECK(f.confirmer->counters().refunds_refused == 1);
    // (wait, asks sent by then): each ask exactly at its due time, never before it.
    const std::vector<std::pair<std::chrono::milliseconds, int>> schedule = {
        {4999ms, 1}, {1ms, 2}, {9999ms, 2}, {1ms, 3}, {19999ms, 3}, {1ms, 4}};
    for (auto [wait, asks] : schedule) {
        f.step(wait);
        f.confirmer->on_refund_answer(refund, false);
        INFO("after " << wait.count() << " ms more");
        CHECK(f.provider.count(ask) == asks);
    }
    auto stuck = f.store->get(refund).value();
    REQUIRE(stuck);
    CHECK(stuck->manual);  // the fourth ask went with the operators told
    CHECK(stuck->probes == 4);
    CHECK(stuck->state == TxState::Confirmed);
    CHECK(f.confirmer->counters().refunds_stuck == 1);
    CHECK(f.confirmer->manual_queue()->empty());  // the HIS's queue is for IN_DOUBT ones
    // A restart half way to the next ask (due 40 s after the fourth) asks nothing at once.
    f.step(20s);
    REQUIRE(f.restart());
    CHECK(f.provider.count(ask) == 4);
    f.step(19999ms);
    CHECK(f.provider.count(ask) == 4);
    f.step(1ms);
    CHECK(f.provider.count(ask) == 5);
    f.step(60s);  // the cap
    CHECK(f.provider.count(ask) == 6);
    f.confirmer->on_refund_answer(refund, true);
    f.confirmer->on_refund_answer(refund, true);  // a second answer changes nothing
    CHECK(f.state(refund) == TxState::Posted);
    CHECK(f.confirmer->timers() == 0);
    f.step(120s);
    CHECK(f.provider.count(ask) == 6);
    auto history = f.store->history(refund);
    REQUIRE(history);
    CHECK(std::count_if(history->begin(), history->end(), [](const Entry& e) { return e.event == "refund_ask"; }) == 6);
    CHECK(std::count_if(history->begin(), history->end(), [](const Entry& e) { return e.event == "manual"; }) == 1);
}

TEST_CASE("prepaid: a lost answer on the payment leg - IN_DOUBT, the booking waits and is never released") {
    PrepaidFixture f;
    Pair p = f.pair();
    REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
    f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
    f.step(10s);
    REQUIRE(f.state(p.payment.id) == TxState::InDoubt);
    f.step(3s);
    REQUIRE(f.his.count("probe:" + p.payment.id) == 1);
    f.confirmer->on_probe_answer(p.payment.id, HisStatus::NotFound);
    REQUIRE(f.his.count("revoke:" + p.payment.id) == 1);
    CHECK(f.state(p.booking.id) == TxState::Held);  // held all along, neither sent nor released
    CHECK(f.provider.sent.empty());
    // The revoke finds it committed in the gap: the payment stands, the booking goes.
    f.confirmer->on_revoke_answer(p.payment.id, RevokeOutcome::AlreadyCommitted);
    CHECK(f.state(p.payment.id) == TxState::Posted);
    CHECK(f.state(p.booking.id) == TxState::Dispatched);
    f.confirmer->on_change_reply(p.booking.id, true);
    CHECK(f.state(p.booking.id) == TxState::Posted);
    CHECK(f.provider.sent.empty());
}

TEST_CASE("prepaid: a lost answer on the booking leg - settled by evidence, refunded only when the HIS says not booked") {
    PrepaidFixture f;
    SECTION("a probe shows it booked: POSTED, no refund") {
        Pair p = f.paid();
        f.step(10s);
        REQUIRE(f.state(p.booking.id) == TxState::InDoubt);
        f.step(3s);
        f.confirmer->on_probe_answer(p.booking.id, HisStatus::Committed);
        CHECK(f.state(p.booking.id) == TxState::Posted);
        CHECK_FALSE(f.store->get(prepaid_refund_id(p.booking.id)).value().has_value());
    }
    SECTION("not found, then revoked: the slot released and the payment refunded") {
        Pair p = f.paid();
        f.step(10s);
        REQUIRE(f.state(p.booking.id) == TxState::InDoubt);
        f.step(3s);
        f.confirmer->on_probe_answer(p.booking.id, HisStatus::NotFound);  // no evidence yet
        CHECK(f.state(p.booking.id) == TxState::InDoubt);
        CHECK_FALSE(f.store->get(prepaid_refund_id(p.booking.id)).value().has_value());
        f.confirmer->on_revoke_answer(p.booking.id, RevokeOutcome::Revoked);
        CHECK(f.state(p.booking.id) == TxState::Voided);
        CHECK(f.state(prepaid_refund_id(p.booking.id)) == TxState::Dispatched);
    }
    SECTION("probes unanswered: the manual queue, nothing refunded until an operator settles it") {
        Pair p = f.paid();
        f.step(10s);
        for (int i = 0; i < 6; ++i) f.step(60s);
        auto queue = f.confirmer->manual_queue();
        REQUIRE(queue->size() == 1);
        CHECK(f.his.count("change:" + prepaid_refund_id(p.booking.id)) == 0);
        REQUIRE(f.confirmer->resolve(p.booking.id, false, "hospital: no such appointment", "alice"));
        CHECK(f.state(p.booking.id) == TxState::InDoubt);  // revoked at the agent first
        CHECK(f.his.count("change:" + prepaid_refund_id(p.booking.id)) == 0);
        f.confirmer->on_revoke_answer(p.booking.id, RevokeOutcome::Revoked);
        CHECK(f.state(p.booking.id) == TxState::Voided);
        CHECK(f.his.count("change:" + prepaid_refund_id(p.booking.id)) == 1);
    }
}

TEST_CASE("prepaid: the booking released while its payment is at the HIS - refunded with its POSTED") {
    PrepaidFixture f;
    Pair p = f.pair();
    REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
    f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
    REQUIRE(f.state(p.payment.id) == TxState::Dispatched);
    REQUIRE(f.confirmer->cancel(p.booking.id));  // the slot was still only held: cancelled
    CHECK(f.state(p.booking.id) == TxState::Voided);
    CHECK(f.state(p.payment.id) == TxState::Dispatched);  // at the HIS: settled by its answer
    CHECK(f.provider.sent.empty());
    f.confirmer->on_change_reply(p.payment.id, true);
    CHECK(f.state(p.payment.id) == TxState::Posted);
    const std::string refund = prepaid_refund_id(p.booking.id);
    CHECK(f.state(refund) == TxState::Dispatched);
    CHECK(f.his.count("change:" + p.booking.id) == 0);
}

TEST_CASE("prepaid: a restart in the middle resumes each gap once") {
    PrepaidFixture f;
    SECTION("payment POSTED, booking still HELD: the booking is sent") {
        Pair p = f.pair();
        REQUIRE(f.store->apply_one(CreatePrepaid{p.booking, p.payment}, 1));
        for (auto [id, to] : std::vector<std::pair<std::string, TxState>>{{p.booking.id, TxState::Held},
                                                                          {p.payment.id, TxState::Held},
                                                                          {p.payment.id, TxState::Dispatched},
                                                                          {p.payment.id, TxState::Confirmed},
                                                                          {p.payment.id, TxState::Posted}})
            REQUIRE(f.store->apply_one(test_util::move(id, to), 2));
        REQUIRE(f.restart());
        CHECK(f.state(p.booking.id) == TxState::Dispatched);
        CHECK(f.his.count("change:" + p.booking.id) == 1);
        REQUIRE(f.restart());  // DISPATCHED is never sent again
        CHECK(f.his.count("change:" + p.booking.id) == 1);
    }
    SECTION("the pair stored, the booking never held: held, and the payment waits for the patient") {
        Pair p = f.pair();
        REQUIRE(f.store->apply_one(CreatePrepaid{p.booking, p.payment}, 1));
        REQUIRE(f.restart());
        f.step(1ms);
        CHECK(f.state(p.booking.id) == TxState::Held);
        CHECK(f.confirmer->has_timer(p.payment.id));
        f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
        f.confirmer->on_change_reply(p.payment.id, true);
        CHECK(f.state(p.booking.id) == TxState::Dispatched);
    }
    SECTION("the booking REJECTED with its payment POSTED: the refund is created once") {
        Pair p = f.paid();
        REQUIRE(f.store->apply_one(test_util::move(p.booking.id, TxState::Rejected, "reply:rejected"), 3));
        REQUIRE(f.restart());
        CHECK(f.state(p.booking.id) == TxState::Voided);
        const std::string refund = prepaid_refund_id(p.booking.id);
        CHECK(f.his.count("change:" + refund) == 1);
        REQUIRE(f.restart());
        CHECK(f.his.count("change:" + refund) == 1);
        CHECK(f.store->corrections_of(p.payment.id)->size() == 1);
    }
    SECTION("both in doubt across a restart: probes go on, nothing released") {
        Pair p = f.pair();
        REQUIRE(f.confirmer->create_prepaid(p.booking, p.payment));
        f.confirmer->on_payment_notification(p.payment.id, p.payment.amount_fen);
        REQUIRE(f.restart());
        f.step(10s);
        CHECK(f.state(p.payment.id) == TxState::InDoubt);
        CHECK(f.state(p.booking.id) == TxState::Held);
        REQUIRE(f.restart());
        f.step(3s);
        CHECK(f.his.count("probe:" + p.payment.id) == 1);
        f.confirmer->on_change_reply(p.payment.id, true);  // a late reply is evidence too
        CHECK(f.state(p.payment.id) == TxState::Posted);
        CHECK(f.state(p.booking.id) == TxState::Dispatched);
    }
}

TEST_CASE("prepaid: the store refuses a pair that does not bind and a half of one - nothing is stored") {
    PrepaidFixture f;
    Pair good = f.pair();
    auto alone = good.booking;
    auto r = f.store->apply_one(Create{alone}, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "ledger.bad_binding");
    CHECK_FALSE(f.store->get(alone.id).value().has_value());

    struct Case {
        Pair p;
        std::string says;
    };
    std::vector<Case> cases;
    {
        Pair p = f.pair();
        p.payment.amount_fen += 1;
        cases.push_back({p, "same patient, hospital, amount"});
    }
    {
        Pair p = f.pair();
        p.payment.binds = new_id();
        cases.push_back({p, "name each other"});
    }
    {
        Pair p = f.pair();
        p.payment.kind = TxKind::Booking;
        cases.push_back({p, "binds a booking and a payment"});
    }
    {
        Pair p = f.pair();
        p.payment.patient_id = "P-000999";
        cases.push_back({p, "same patient"});
    }
    for (auto& c : cases) {
        INFO(c.says);
        auto refused = f.confirmer->create_prepaid(c.p.booking, c.p.payment);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == "ledger.bad_binding");
        CHECK(refused.error().message.find(c.says) != std::string::npos);
        CHECK_FALSE(f.store->get(c.p.booking.id).value().has_value());
        CHECK_FALSE(f.store->get(c.p.payment.id).value().has_value());
    }
    // The payment's id used before: the booking is not stored either.
    Pair reused = f.pair();
    auto other = test_util::intent(reused.payment.id);
    REQUIRE(f.store->apply_one(Create{other}, 1));
    auto clash = f.confirmer->create_prepaid(reused.booking, reused.payment);
    REQUIRE_FALSE(clash);
    CHECK(clash.error().code == "ledger.id_reused");
    CHECK_FALSE(f.store->get(reused.booking.id).value().has_value());
    CHECK(f.his.sent.empty());
    CHECK(f.confirmer->timers() == 0);
}

TEST_CASE("prepaid: a refund the HIS refuses is asked again in new rounds, then listed for the operators") {
    PrepaidFixture f;
    Pair p = f.paid();
    f.confirmer->on_change_reply(p.booking.id, false);  // the HIS refuses the paid booking
    REQUIRE(f.state(p.booking.id) == TxState::Voided);
    const std::string round1 = prepaid_refund_id(p.booking.id), round2 = prepaid_refund_id(p.booking.id, 2),
                      round3 = prepaid_refund_id(p.booking.id, 3);
    CHECK(round1 == prepaid_refund_id(p.booking.id, 1));
    CHECK(prepaid_refund_round(p.booking.id, round3, 3) == 3);
    CHECK(prepaid_refund_round(p.booking.id, p.payment.id, 3) == 0);
    REQUIRE(f.his.count("change:" + round1) == 1);
    f.confirmer->on_change_reply(round1, false);  // the HIS refuses the refund
    CHECK(f.state(round1) == TxState::Voided);
    // The next round is stored with that VOIDED, due 5 s later; nothing sent before.
    REQUIRE(f.store->get(round2).value());
    CHECK(f.state(round2) == TxState::Created);
    CHECK(f.store->get(round2).value()->intent.corrects == p.payment.id);
    CHECK(f.his.count("change:" + round2) == 0);
    CHECK(f.confirmer->has_timer(round2));
    REQUIRE(f.restart());  // a restart keeps its due time and sends nothing at once
    CHECK(f.his.count("change:" + round2) == 0);
    f.step(5s);
    CHECK(f.his.count("change:" + round2) == 1);
    SECTION("a later round the HIS does: refunded once, the pair released") {
        f.confirmer->on_change_reply(round2, true);
        CHECK(f.provider.count("refund:" + round2 + ":of:" + p.payment.id) == 1);
        f.confirmer->on_refund_answer(round2, true);
        CHECK(f.state(round2) == TxState::Posted);
        CHECK_FALSE(f.store->get(round3).value());
        CHECK(f.confirmer->timers() == 0);
    }
    SECTION("every round refused: the last VOIDED one is in the operators' list, with the reason") {
        f.confirmer->on_change_reply(round2, false);
        CHECK(f.state(round3) == TxState::Created);
        f.step(10s);
        REQUIRE(f.his.count("change:" + round3) == 1);
        f.confirmer->on_change_reply(round3, false);
        auto last = f.store->get(round3).value();
        CHECK(last->state == TxState::Voided);
        CHECK(last->manual);
        CHECK(f.history_has(round3, "manual", "the hospital holds the payment"));
        CHECK(f.confirmer->counters().prepaid_refunds_again == 1);  // round 3, after the restart
        CHECK(f.confirmer->counters().prepaid_refunds_unbound == 1);
        CHECK_FALSE(f.store->get(prepaid_refund_id(p.booking.id, 4)).value());
        CHECK(f.provider.sent.empty());  // the hospital never refunded: no money went back
        CHECK(f.confirmer->timers() == 0);
        CHECK(f.state(p.payment.id) == TxState::Posted);
        // The mark is the one thing a VOIDED row lets change, and only once the payment is
        // refunded after all: the file's trigger refuses anything more, the store anything earlier.
        auto raw = sql::Db::open(f.path);
        REQUIRE(raw);
        CHECK_FALSE(raw->exec("UPDATE transactions SET manual = 0, amount_fen = 1 WHERE id = '" + round3 + "'"));
        CHECK(f.store->apply_one(ClearVoidedMark{round3, "test"}, 1).error().code == "ledger.not_settled");
        // An operator refunds it again (a refund correction of the payment) and the hospital
        // does it: the POSTED refund takes round 3 off the operators' list in its commit.
        TransactionIntent again = last->intent;
        again.id = new_id();
        REQUIRE(f.confirmer->create(again));
        f.confirmer->on_change_reply(again.id, true);
        REQUIRE(f.provider.count("refund:" + again.id + ":of:" + p.payment.id) == 1);
        CHECK(f.store->get(round3).value()->manual);  // listed until the money is back
        f.confirmer->on_refund_answer(again.id, true);
        CHECK(f.state(again.id) == TxState::Posted);
        auto unlisted = f.store->get(round3).value();
        CHECK(unlisted->state == TxState::Voided);
        CHECK_FALSE(unlisted->manual);
        CHECK(f.history_has(round3, "unmarked", again.id));
        CHECK(f.confirmer->counters().prepaid_refunds_unmarked == 1);
        CHECK_FALSE(raw->exec("UPDATE transactions SET manual = 1 WHERE id = '" + round3 + "'"));
        CHECK(f.confirmer->timers() == 0);
    }
    SECTION("an operator who finds a round not done starts the next round too") {
        f.step(10s);  // round 2's answer lost: IN_DOUBT
        REQUIRE(f.state(round2) == TxState::InDoubt);
        REQUIRE(f.confirmer->resolve(round2, false, "phone call: the hospital has not refunded it", "alice"));
        f.confirmer->on_revoke_answer(round2, RevokeOutcome::Revoked);
        CHECK(f.state(round2) == TxState::Voided);
        CHECK(f.state(round3) == TxState::Created);
    }
}

// A round's VOIDED and the pair's next round go in one commit; the disk refusing it leaves
// the round REJECTED, followed by a retry timer (no restart needed), and both are stored
// when the disk takes them.
TEST_CASE("prepaid: a round's VOIDED the store fails to write is tried again by a timer, with the next round") {
    PrepaidFixture f;
    Pair p = f.paid();
    test_util::FailingWritesStore flaky(*f.store);
    f.confirmer = std::make_unique<Confirmer>(flaky, f.clock, f.his, f.provider, f.options);
    f.confirmer->on_change_reply(p.booking.id, false);  // the HIS refuses the paid booking
    const std::string round1 = prepaid_refund_id(p.booking.id), round2 = prepaid_refund_id(p.booking.id, 2);
    REQUIRE(f.state(round1) == TxState::Dispatched);
    bool disk_down = true;
    flaky.failing = [&](const std::vector<Command>& batch) {
        return disk_down && test_util::batch_moves_to(batch, TxState::Voided);
    };
    f.confirmer->on_change_reply(round1, false);  // the HIS refuses the refund
    CHECK(flaky.failed == 1);
    CHECK(f.state(round1) == TxState::Rejected);
    CHECK_FALSE(f.store->get(round2).value());
    CHECK(f.confirmer->has_timer(round1));
    disk_down = false;
    f.step(5s);
    CHECK(f.state(round1) == TxState::Voided);
    CHECK(f.state(round2) == TxState::Created);
    CHECK_FALSE(f.confirmer->has_timer(round1));
    CHECK(f.confirmer->has_timer(round2));
    CHECK(f.confirmer->counters().unstored_retries == 1);
}
