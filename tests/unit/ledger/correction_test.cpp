// Corrections after POSTED (docs/ledger.md, "Corrections after POSTED"): a refund of a POSTED
// payment or a cancel of a POSTED booking is a new transaction naming the original, which
// never changes; it goes to the HIS like a change, is settled by evidence when its answer
// is lost, and a refund reaches the provider only after the HIS confirmed it.
#include <catch2/catch.hpp>

#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/reconcile.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using namespace std::chrono_literals;

namespace {

using test_util::RecordingHis;
using test_util::RecordingProvider;

struct Fixture : test_util::ConfirmerRig {
    Fixture() : ConfirmerRig("correction") {}
    // A payment the HIS committed: POSTED.
    TransactionIntent posted_payment() {
        auto in = test_util::intent();
        in.deadline_ms = clock.wall_ms() + 30'000;
        REQUIRE(confirmer->create(in));
        confirmer->on_payment_notification(in.id, in.amount_fen);
        confirmer->on_change_reply(in.id, true);
        REQUIRE(state(in.id) == TxState::Posted);
        return in;
    }
    TransactionIntent posted_booking() {
        auto in = test_util::intent();
        in.kind = TxKind::Booking;
        in.purpose = "SLOT-1";
        REQUIRE(confirmer->create(in));
        confirmer->on_change_reply(in.id, true);
        REQUIRE(state(in.id) == TxState::Posted);
        return in;
    }
    static TransactionIntent correction_of(const TransactionIntent& of, TxKind kind, std::string id = new_id()) {
        TransactionIntent fix = of;
        fix.id = std::move(id);
        fix.kind = kind;
        fix.purpose = kind == TxKind::Refund ? "refund" : "cancel";
        fix.deadline_ms = 0;
        fix.corrects = of.id;
        return fix;
    }
};

}  // namespace

TEST_CASE("correction: a refund after POSTED goes to the HIS, then the provider - the original never changes") {
    Fixture f;
    auto paid = f.posted_payment();
    const auto entries = f.store->history(paid.id)->size();
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    auto created = f.confirmer->create(fix);
    REQUIRE(created);
    CHECK(created->state == TxState::Dispatched);  // held and sent at once: nothing to wait for
    CHECK(f.his.count("change:" + fix.id) == 1);
    CHECK(f.provider.sent.empty());  // no money moves before the HIS says so
    f.confirmer->on_change_reply(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Confirmed);
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 1);
    f.confirmer->on_refund_answer(fix.id, false);  // the provider failed: asked again by the timer
    f.step(5s);
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 2);
    f.confirmer->on_refund_answer(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Posted);
    CHECK_FALSE(f.confirmer->has_timer(fix.id));
    CHECK(f.state(paid.id) == TxState::Posted);  // terminal: never changes
    CHECK(f.store->history(paid.id)->size() == entries);
    auto fixes = f.store->corrections_of(paid.id);
    REQUIRE(fixes->size() == 1);
    CHECK(fixes->front().intent.id == fix.id);
    CHECK(f.provider.count("refund:" + paid.id) == 0);  // the original's own REJECTED road never ran
}

TEST_CASE("correction: a refund whose answer is lost is IN_DOUBT - not refunded yet is no evidence, never revoked") {
    Fixture f;
    auto paid = f.posted_payment();
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(fix));
    f.step(10s);
    REQUIRE(f.state(fix.id) == TxState::InDoubt);
    f.step(3s);
    REQUIRE(f.his.count("probe:" + fix.id) == 1);
    f.confirmer->on_probe_answer(fix.id, HisStatus::NotFound);  // the HIS still shows it paid
    CHECK(f.state(fix.id) == TxState::InDoubt);
    CHECK(f.his.count("revoke:" + fix.id) == 0);
    CHECK(f.provider.sent.empty());
    CHECK(f.confirmer->has_timer(fix.id));  // the probes go on
    f.step(6s);  // the second slot re-asks the change (same attempt), the third probes
    CHECK(f.his.count("change:" + fix.id) == 2);
    f.step(12s);
    CHECK(f.his.count("probe:" + fix.id) == 2);
    f.confirmer->on_probe_answer(fix.id, HisStatus::Committed);  // refunded at the HIS
    CHECK(f.state(fix.id) == TxState::Confirmed);
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 1);
    f.confirmer->on_revoke_answer(fix.id, RevokeOutcome::Revoked);  // never asked: refused
    f.confirmer->on_refund_answer(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Posted);
    CHECK(f.his.count("change:" + fix.id) == 2);
    CHECK(f.store->get(fix.id).value()->attempts == 1);  // one attempt: the re-ask is the same request
}

TEST_CASE("correction: a refund the HIS never shows is re-asked under the same request id - stored first, bounded") {
    Fixture f;
    f.options.max_probes = 8;
    REQUIRE(f.restart());
    auto paid = f.posted_payment();
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(fix));
    f.step(10s);  // no answer: the agent was away
    REQUIRE(f.state(fix.id) == TxState::InDoubt);
    f.step(3s);
    CHECK(f.his.count("probe:" + fix.id) == 1);
    f.confirmer->on_probe_answer(fix.id, HisStatus::NotFound);  // still paid: not yet
    f.step(6s);  // slot 2: the same change again, stored before it left
    CHECK(f.his.count("change:" + fix.id) == 2);
    CHECK(f.his.count("probe:" + fix.id) == 1);
    auto t = f.store->get(fix.id).value();
    CHECK(t->attempts == 1);  // the same attempt: <id>-change-1 at the agent
    CHECK(t->probes == 2);
    CHECK(t->next_probe_ms == f.clock.wall_ms() + 12'000);
    auto history = f.store->history(fix.id).value();
    REQUIRE(history.back().event == "reask");
    CHECK(history.back().evidence.find("re-ask 1 of change attempt 1") != std::string::npos);
    CHECK(f.provider.sent.empty());

    SECTION("the agent answers the re-ask: settled without an operator, refunded once") {
        f.confirmer->on_change_reply(fix.id, true);
        CHECK(f.state(fix.id) == TxState::Confirmed);
        CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 1);
        f.confirmer->on_change_reply(fix.id, true);  // the first copy's answer, late: refused
        f.confirmer->on_refund_answer(fix.id, true);
        CHECK(f.state(fix.id) == TxState::Posted);
        CHECK(f.provider.sent.size() == 1);
    }
    SECTION("a restart neither loses nor doubles a re-ask, and after the bound the manual queue") {
        f.step(5s);
        REQUIRE(f.restart());
        f.confirmer->tick();
        CHECK(f.his.count("change:" + fix.id) == 2);  // nothing again at once
        f.step(7s);  // slot 3 at its stored time: a probe
        CHECK(f.his.count("probe:" + fix.id) == 2);
        for (int i = 0; i < 8; ++i) f.step(60s);
        // Slots 2, 4 and 6 re-asked (max_reasks 3), 1, 3, 5, 7, 8 probed; then the operators.
        CHECK(f.his.count("change:" + fix.id) == 4);
        CHECK(f.his.count("probe:" + fix.id) == 5);
        CHECK(f.his.count("revoke:" + fix.id) == 0);
        auto queue = f.confirmer->manual_queue();
        REQUIRE(queue->size() == 1);
        CHECK(queue->front().intent.id == fix.id);
        CHECK(f.store->get(fix.id).value()->attempts == 1);
        int reasks = 0;
        for (const auto& e : f.store->history(fix.id).value()) reasks += e.event == "reask";
        CHECK(reasks == 3);
        CHECK(f.provider.sent.empty());
    }
    SECTION("an agent away holds the re-asks too: none spent, slot 4 is still a re-ask when it is back") {
        f.his.away = f.clock.wall_ms();
        for (int i = 0; i < 12; ++i) f.step(60s);  // more than the 6 slots left
        CHECK(f.his.count("change:" + fix.id) == 2);
        CHECK(f.his.count("probe:" + fix.id) == 1);
        CHECK(f.store->get(fix.id).value()->probes == 2);
        CHECK(f.confirmer->manual_queue()->empty());
        CHECK(f.store->apply_one(ScheduleProbe{fix.id, 2, 1, 1, "away"}, f.clock.wall_ms()).error().code ==
              "ledger.not_deferrable");
        f.his.away.reset();
        f.step(60s);  // slot 3: a probe
        f.step(60s);  // slot 4: re-ask 2
        CHECK(f.his.count("probe:" + fix.id) == 2);
        CHECK(f.his.count("change:" + fix.id) == 3);
        CHECK(f.confirmer->counters().reasks == 2);
    }
    SECTION("a payment is never re-asked: its not-found is revoked") {
        auto pay = test_util::intent();
        pay.deadline_ms = f.clock.wall_ms() + 30'000;
        REQUIRE(f.confirmer->create(pay));
        f.confirmer->on_payment_notification(pay.id, pay.amount_fen);
        for (int i = 0; i < 4; ++i) f.step(10s);
        CHECK(f.his.count("change:" + pay.id) == 1);
        CHECK(f.store->apply_one(ScheduleProbe{pay.id, 9, 1, 1}, f.clock.wall_ms()).error().code == "ledger.not_reaskable");
    }
}

TEST_CASE("correction: unanswered probes put a refund in the manual queue and an operator settles it") {
    Fixture f;
    auto paid = f.posted_payment();
    auto lost = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(lost));
    f.step(10s);
    for (int i = 0; i < 6; ++i) f.step(60s);
    auto queue = f.confirmer->manual_queue();
    REQUIRE(queue->size() == 1);
    CHECK(queue->front().intent.id == lost.id);
    CHECK(f.his.count("revoke:" + lost.id) == 0);
    // The operator's word is not enough: the refund's own request may still sit in the
    // agent's queue and reach the HIS later. It is revoked there first (the request fence).
    auto r = f.confirmer->resolve(lost.id, false, "phone call: the hospital has not refunded it", "alice");
    REQUIRE(r);
    CHECK(r->state == TxState::InDoubt);
    CHECK(r->revoking);
    CHECK_FALSE(r->manual);
    CHECK(f.his.count("revoke:" + lost.id) == 1);
    SECTION("the revoke finds it already done: the operator was wrong, it is CONFIRMED") {
        f.confirmer->on_revoke_answer(lost.id, RevokeOutcome::AlreadyCommitted);
        CHECK(f.state(lost.id) == TxState::Confirmed);
        return;
    }
    SECTION("a restart before the revoke's answer sends it again") {
        REQUIRE(f.restart());
        CHECK(f.his.count("revoke:" + lost.id) == 1);
        f.step(10s);
        CHECK(f.his.count("revoke:" + lost.id) == 2);
    }
    f.confirmer->on_revoke_answer(lost.id, RevokeOutcome::Revoked);
    r = f.store->get(lost.id).value().value();
    CHECK(r->state == TxState::Voided);  // nothing was corrected; the original stands
    CHECK_FALSE(r->revoking);
    CHECK_FALSE(r->manual);  // settled: out of the operators' lists (its history says who)
    CHECK(f.provider.sent.empty());
    // The VOIDED one corrected nothing: a new refund may go.
    auto again = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(again));
    f.confirmer->on_change_reply(again.id, false);  // the hospital refuses it
    CHECK(f.state(again.id) == TxState::Voided);
    CHECK(f.provider.sent.empty());
}

TEST_CASE("correction: a cancel after POSTED moves no money - a restart resumes a refund at CONFIRMED") {
    Fixture f;
    auto booked = f.posted_booking();
    auto cancel = Fixture::correction_of(booked, TxKind::Cancel);
    REQUIRE(f.confirmer->create(cancel));
    f.confirmer->on_change_reply(cancel.id, true);
    CHECK(f.state(cancel.id) == TxState::Posted);
    CHECK(f.provider.sent.empty());
    CHECK(f.state(booked.id) == TxState::Posted);

    auto paid = f.posted_payment();
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(fix));
    f.confirmer->on_change_reply(fix.id, true);
    REQUIRE(f.state(fix.id) == TxState::Confirmed);
    // The process dies before the provider answers: the next one asks it again (idempotent
    // there by the correction's id) when the stored schedule says, `retry` after the first.
    f.confirmer = std::make_unique<Confirmer>(*f.store, f.clock, f.his, f.provider, f.options);
    REQUIRE(f.confirmer->resume());
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 1);
    f.step(f.options.retry);
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 2);
    f.confirmer->on_refund_answer(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Posted);
}

TEST_CASE("correction: the store refuses a bad correction and a second one - nothing changes") {
    Fixture f;
    auto paid = f.posted_payment();
    auto booked = f.posted_booking();
    auto unpaid = test_util::intent();
    REQUIRE(f.store->apply_one(Create{unpaid}, 1));
    auto entries_before = f.store->history(paid.id)->size();

    struct Case {
        TransactionIntent fix;
        std::string code, says;
    };
    auto partial = Fixture::correction_of(paid, TxKind::Refund);
    partial.amount_fen -= 1;
    auto other_patient = Fixture::correction_of(paid, TxKind::Refund);
    other_patient.patient_id = "P-999";
    auto no_target = Fixture::correction_of(paid, TxKind::Refund);
    no_target.corrects.clear();
    std::vector<Case> cases = {
        {Fixture::correction_of(booked, TxKind::Refund), "ledger.bad_correction", "a refund corrects a POSTED payment"},
        {Fixture::correction_of(paid, TxKind::Cancel), "ledger.bad_correction", "a cancel corrects a POSTED booking"},
        {Fixture::correction_of(unpaid, TxKind::Refund), "ledger.bad_correction", "not a settled transaction"},
        {partial, "ledger.bad_correction", "the whole of"},
        {other_patient, "ledger.bad_correction", "its patient"},
        {no_target, "ledger.bad_correction", "corrects: missing"},
    };
    for (auto& c : cases) {
        INFO(c.code << ": " << c.says);
        auto r = f.confirmer->create(c.fix);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().message.find(c.says) != std::string::npos);
        CHECK_FALSE(f.store->get(c.fix.id).value().has_value());
    }
    auto first = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(first));
    auto retried = f.confirmer->create(first);  // the same correction again: its stored answer
    REQUIRE(retried);
    CHECK(retried->intent.id == first.id);
    CHECK(f.his.count("change:" + first.id) == 1);
    auto second = Fixture::correction_of(paid, TxKind::Refund);
    auto refused = f.confirmer->create(second);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "ledger.already_corrected");
    CHECK(refused.error().cls == ErrorClass::Rejected);
    CHECK(refused.error().message.find(first.id) != std::string::npos);
    CHECK_FALSE(f.store->get(second.id).value().has_value());
    CHECK(f.store->corrections_of(paid.id)->size() == 1);
    CHECK(f.state(paid.id) == TxState::Posted);
    CHECK(f.store->history(paid.id)->size() == entries_before);
}

TEST_CASE("correction: reconciliation matches a payment refunded after POSTED at the HIS and the provider") {
    Transaction paid;
    paid.intent = test_util::intent();
    paid.state = TxState::Posted;
    Transaction refund;
    refund.intent = Fixture::correction_of(paid.intent, TxKind::Refund);
    refund.state = TxState::Posted;
    const std::string id = paid.intent.id;
    const int64_t fen = paid.intent.amount_fen;
    std::vector<HisLine> his = {{id, "payment", fen}, {id, "refund", fen}};
    std::vector<ProviderLine> bill = {{id, "payment", fen, "", ""}, {id, "refund", fen, "", refund.intent.id}};

    auto both = reconcile("2026-01-05", {paid, refund}, his, bill);
    REQUIRE(both);
    CHECK(both->clean());
    REQUIRE(both->items.size() == 1);
    CHECK(both->items[0].finding == Finding::Matched);
    CHECK(both->corrections == 1);

    // The hospital shows no refund: a state mismatch, the hospital's.
    auto no_his_refund = reconcile("2026-01-05", {paid, refund}, {his[0]}, bill);
    REQUIRE(no_his_refund);
    CHECK(no_his_refund->items[0].finding == Finding::StateMismatch);
    CHECK(no_his_refund->items[0].party == "hospital");
    // Without the correction in the ledger, the same lines are a POSTED payment refunded behind it.
    auto unknown_refund = reconcile("2026-01-05", {paid}, his, bill);
    REQUIRE(unknown_refund);
    CHECK(unknown_refund->items[0].finding == Finding::StateMismatch);
    // A refund still being confirmed: in doubt, not a mismatch.
    refund.state = TxState::InDoubt;
    auto doubt = reconcile("2026-01-05", {paid, refund}, {his[0]}, {bill[0]});
    REQUIRE(doubt);
    CHECK(doubt->items[0].finding == Finding::InDoubt);
    CHECK(doubt->clean());
    // A VOIDED refund corrected nothing: the payment is judged as POSTED.
    refund.state = TxState::Voided;
    auto voided = reconcile("2026-01-05", {paid, refund}, {his[0]}, {bill[0]});
    REQUIRE(voided);
    CHECK(voided->items[0].finding == Finding::Matched);
}

// The invariant "every open transaction has a timer or is in the manual queue" when the
// disk refuses a rejected correction's VOIDED: it stays REJECTED with a retry timer, and is
// VOIDED when the store takes it, with no restart in between.
TEST_CASE("correction: a VOIDED the store fails to write is tried again by a timer, not left until a restart") {
    Fixture f;
    auto paid = f.posted_payment();
    test_util::FailingWritesStore flaky(*f.store);
    f.confirmer = std::make_unique<Confirmer>(flaky, f.clock, f.his, f.provider, f.options);
    bool disk_down = true;
    flaky.failing = [&](const std::vector<Command>& batch) {
        return disk_down && test_util::batch_moves_to(batch, TxState::Voided);
    };
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    REQUIRE(f.confirmer->create(fix));
    f.confirmer->on_change_reply(fix.id, false);  // the HIS refused the refund
    CHECK(flaky.failed == 1);
    CHECK(f.state(fix.id) == TxState::Rejected);
    CHECK(f.confirmer->has_timer(fix.id));
    f.step(5s);  // the disk still refuses: tried, and followed again
    CHECK(flaky.failed == 2);
    CHECK(f.state(fix.id) == TxState::Rejected);
    CHECK(f.confirmer->has_timer(fix.id));
    disk_down = false;
    f.step(5s);
    CHECK(f.state(fix.id) == TxState::Voided);
    CHECK_FALSE(f.confirmer->has_timer(fix.id));
    CHECK(f.confirmer->counters().unstored_retries == 2);
    CHECK(f.provider.sent.empty());  // nothing refunded: the HIS refused it
    CHECK(f.state(paid.id) == TxState::Posted);
}

// A correction the ledger owes is not sent to an absent agent either, and it waits for it
// however long it is away: offline_patience refuses new payments, never what is owed.
TEST_CASE("correction: a refund asked while the agent is away waits HELD past offline_patience - sent once when it is back") {
    Fixture f;
    f.options.offline_patience = 30min;
    REQUIRE(f.restart());
    auto paid = f.posted_payment();
    f.his.away = f.clock.wall_ms();
    auto fix = Fixture::correction_of(paid, TxKind::Refund);
    auto created = f.confirmer->create(fix);
    REQUIRE(created);
    CHECK(created->state == TxState::Held);
    CHECK(f.his.count("change:" + fix.id) == 0);
    for (int i = 0; i < 45; ++i) f.step(60s);  // 45 min: past the patience
    CHECK(f.state(fix.id) == TxState::Held);
    CHECK(f.his.count("change:" + fix.id) == 0);
    CHECK(f.provider.sent.empty());
    CHECK(f.confirmer->counters().never_sent_away == 0);
    REQUIRE(f.restart());  // still away: resume() holds it again, and marks it for the wake
    CHECK(f.state(fix.id) == TxState::Held);
    CHECK(f.his.count("change:" + fix.id) == 0);
    f.his.away.reset();
    CHECK(f.confirmer->agent_back("H001") == 1);
    f.confirmer->tick();
    CHECK(f.state(fix.id) == TxState::Dispatched);
    CHECK(f.his.count("change:" + fix.id) == 1);
    f.confirmer->on_change_reply(fix.id, true);
    CHECK(f.provider.count("refund:" + fix.id + ":of:" + paid.id) == 1);
    f.confirmer->on_refund_answer(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Posted);
    CHECK(f.his.count("change:" + fix.id) == 1);
}

TEST_CASE("correction: a cancel held for an absent agent is woken by agent_back") {
    Fixture f;
    auto booked = f.posted_booking();
    f.his.away = f.clock.wall_ms();
    auto fix = Fixture::correction_of(booked, TxKind::Cancel);
    REQUIRE(f.confirmer->create(fix));
    CHECK(f.state(fix.id) == TxState::Held);
    f.step(10s);
    f.his.away.reset();
    CHECK(f.confirmer->agent_back("H001") == 1);
    f.confirmer->tick();
    CHECK(f.his.count("change:" + fix.id) == 1);
    f.confirmer->on_change_reply(fix.id, true);
    CHECK(f.state(fix.id) == TxState::Posted);
}
