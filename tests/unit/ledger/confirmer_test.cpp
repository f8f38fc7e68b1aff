// The confirmer with recording ports and a manual clock: a lost answer is settled by
// evidence (probe, late reply, revoke), never by a timeout, and nothing the HIS may hold is
// refunded.
#include <catch2/catch.hpp>

#include "common/utc_time.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/refusal.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using namespace std::chrono_literals;

namespace {

using test_util::RecordingHis;
using test_util::RecordingProvider;

struct Fixture : test_util::ConfirmerRig {
    Fixture() : ConfirmerRig("confirmer") {}
    // A payment, paid and dispatched.
    std::string dispatched() {
        auto in = test_util::intent();
        in.deadline_ms = clock.wall_ms() + 30'000;
        REQUIRE(confirmer->create(in));
        confirmer->on_payment_notification(in.id, in.amount_fen);
        REQUIRE(state(in.id) == TxState::Dispatched);
        return in.id;
    }
};

}  // namespace

TEST_CASE("confirmer: a lost reply makes IN_DOUBT, a probe by the same id settles it, and the change is never resent") {
    Fixture f;
    std::string id = f.dispatched();
    CHECK(f.his.count("change:" + id) == 1);
    f.step(10s);
    CHECK(f.state(id) == TxState::InDoubt);
    CHECK(f.confirmer->has_timer(id));
    f.step(3s);
    CHECK(f.his.count("probe:" + id) == 1);
    f.step(6s);
    CHECK(f.his.count("probe:" + id) == 2);  // backoff: 3 s, then 6 s
    f.confirmer->on_probe_answer(id, HisStatus::Committed);
    CHECK(f.state(id) == TxState::Posted);
    CHECK(f.his.count("change:" + id) == 1);
    CHECK(f.provider.count("refund:" + id) == 0);
    auto h = f.store->history(id).value();
    CHECK(h[h.size() - 2].evidence == "probe:committed");
}

TEST_CASE("confirmer: a late reply is evidence, and a duplicate of it changes nothing") {
    Fixture f;
    std::string id = f.dispatched();
    f.step(10s);
    REQUIRE(f.state(id) == TxState::InDoubt);
    f.confirmer->on_change_reply(id, true);
    CHECK(f.state(id) == TxState::Posted);
    f.confirmer->on_change_reply(id, true);
    CHECK(f.state(id) == TxState::Posted);
    CHECK_FALSE(f.confirmer->has_timer(id));
}

TEST_CASE("confirmer: not found at the HIS means revoke first - refund only after revoked, CONFIRMED if it committed") {
    Fixture f;
    std::string lost = f.dispatched(), raced = f.dispatched();
    f.step(10s);  // both IN_DOUBT
    f.confirmer->on_probe_answer(lost, HisStatus::NotFound);
    f.confirmer->on_probe_answer(raced, HisStatus::NotFound);
    CHECK(f.his.count("revoke:" + lost) == 1);
    CHECK(f.state(lost) == TxState::InDoubt);  // not found is not yet evidence
    CHECK(f.provider.count("refund:" + lost) == 0);
    f.confirmer->on_revoke_answer(lost, RevokeOutcome::Revoked);
    CHECK(f.state(lost) == TxState::Rejected);
    CHECK(f.provider.count("refund:" + lost) == 1);
    f.confirmer->on_refund_answer(lost, true);
    CHECK(f.state(lost) == TxState::Refunded);
    // The change arrived in the gap and committed: the revoke fails, and it is CONFIRMED.
    f.confirmer->on_revoke_answer(raced, RevokeOutcome::AlreadyCommitted);
    CHECK(f.state(raced) == TxState::Posted);
    CHECK(f.provider.count("refund:" + raced) == 0);
}

TEST_CASE("confirmer: an unpaid deadline closes the provider's order first - a close that fails because it was paid goes on") {
    Fixture f;
    auto unpaid = test_util::intent(), raced = test_util::intent();
    unpaid.deadline_ms = raced.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.confirmer->create(unpaid));
    REQUIRE(f.confirmer->create(raced));
    f.step(30s);
    CHECK(f.provider.count("close:" + unpaid.id) == 1);
    CHECK(f.state(unpaid.id) == TxState::Created);
    f.confirmer->on_close_answer(unpaid.id, CloseOutcome::Closed);
    CHECK(f.state(unpaid.id) == TxState::Voided);
    f.confirmer->on_close_answer(raced.id, CloseOutcome::AlreadyPaid);
    CHECK(f.state(raced.id) == TxState::Dispatched);
    CHECK(f.his.count("change:" + raced.id) == 1);
}

TEST_CASE("confirmer: a cancel before dispatch fences the dispatch - money that arrives anyway is refunded, never sent") {
    Fixture f;
    auto in = test_util::intent();
    in.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.confirmer->create(in));
    auto c = f.confirmer->cancel(in.id);
    REQUIRE(c);
    CHECK(f.state(in.id) == TxState::Rejected);
    CHECK(f.provider.count("close:" + in.id) == 1);
    f.confirmer->on_payment_notification(in.id, in.amount_fen);  // the patient paid in the gap
    CHECK(f.his.count("change:" + in.id) == 0);
    CHECK(f.provider.count("refund:" + in.id) == 1);
    f.confirmer->on_refund_answer(in.id, true);
    CHECK(f.state(in.id) == TxState::Refunded);
    // After dispatch a cancel is refused.
    std::string sent = f.dispatched();
    CHECK(f.confirmer->cancel(sent).error().code == "ledger.cancel_after_dispatch");
}

TEST_CASE("confirmer: unanswered probes end in the manual queue - an operator resolves it, named, with evidence") {
    Fixture f;
    std::string id = f.dispatched();
    f.step(10s);
    for (int i = 0; i < 6; ++i) f.step(60s);
    CHECK(f.his.count("probe:" + id) == 3);
    auto queue = f.confirmer->manual_queue();
    REQUIRE(queue->size() == 1);
    CHECK_FALSE(f.confirmer->has_timer(id));
    CHECK(f.confirmer->resolve(id, false, "", "wang").error().code == "ledger.evidence_required");
    CHECK(f.confirmer->resolve(id, false, "called the hospital", "").error().code == "ledger.operator_required");
    auto r = f.confirmer->resolve(id, true, "hospital statement line 14", "wang");
    REQUIRE(r);
    CHECK(r->state == TxState::Posted);
    auto h = f.store->history(id).value();
    bool audited = false;
    for (const auto& e : h) audited |= e.actor == "operator:wang" && e.evidence == "hospital statement line 14";
    CHECK(audited);
}

TEST_CASE("confirmer: after a restart the timers come back from the file - a DISPATCHED one probes, never resends") {
    Fixture f;
    std::string id = f.dispatched();
    auto held = test_util::intent();
    held.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.store->apply_one(Create{held}, f.clock.wall_ms()));
    REQUIRE(f.store->apply_one(test_util::move(held.id, TxState::Held), f.clock.wall_ms()));  // died before dispatch
    f.confirmer.reset();
    f.store.reset();
    f.store = open_sqlite_ledger_store(f.path, "south").value();
    f.confirmer = std::make_unique<Confirmer>(*f.store, f.clock, f.his, f.provider, f.options);
    REQUIRE(f.confirmer->resume());
    CHECK(f.state(held.id) == TxState::Dispatched);  // HELD was never sent: sent now, once
    CHECK(f.his.count("change:" + held.id) == 1);
    CHECK(f.confirmer->has_timer(id));
    f.step(10s);
    CHECK(f.state(id) == TxState::InDoubt);
    f.step(3s);
    CHECK(f.his.count("probe:" + id) == 1);
    CHECK(f.his.count("change:" + id) == 1);
}

TEST_CASE("confirmer: a notification with the wrong amount or for an unknown id is refused and changes nothing") {
    Fixture f;
    auto in = test_util::intent();
    in.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.confirmer->create(in));
    f.confirmer->on_payment_notification(in.id, in.amount_fen + 1);
    f.confirmer->on_payment_notification(test_util::intent().id, 100);
    CHECK(f.state(in.id) == TxState::Created);
    CHECK(f.confirmer->counters().refused_answers == 2);
}

TEST_CASE("confirmer: a booking holds its slot at once and a rejection releases it (VOIDED, nothing to refund)") {
    Fixture f;
    auto in = test_util::intent();
    in.kind = TxKind::Booking;
    in.purpose = "slot S-20260105-0800";
    auto t = f.confirmer->create(in);
    REQUIRE(t);
    CHECK(t->state == TxState::Dispatched);
    CHECK_FALSE(t->funds_held);
    CHECK(f.his.count("change:" + in.id) == 1);
    f.confirmer->on_change_reply(in.id, false);
    CHECK(f.state(in.id) == TxState::Voided);
    CHECK(f.provider.sent.empty());
    // An uncertain booking is settled by its status, never booked again.
    auto other = test_util::intent();
    other.kind = TxKind::Booking;
    REQUIRE(f.confirmer->create(other));
    f.step(10s);
    CHECK(f.state(other.id) == TxState::InDoubt);
    f.step(3s);
    f.confirmer->on_probe_answer(other.id, HisStatus::Committed);
    CHECK(f.state(other.id) == TxState::Posted);
    CHECK(f.his.count("change:" + other.id) == 1);
}

// A refusal names its rule: the REJECTED entry keeps the code (the patient's screen says which
// rule from it), a late refusal too; anything that is not a code leaves plain "reply:rejected".
TEST_CASE("confirmer: a refusal's code is kept in the REJECTED entry's evidence - free text from the hospital is not") {
    Fixture f;
    auto booking = [&] {
        auto in = test_util::intent();
        in.kind = TxKind::Booking;
        REQUIRE(f.confirmer->create(in));
        return in.id;
    };
    auto rejected_evidence = [&](const std::string& id) {
        for (const auto& e : f.store->history(id).value())
            if (e.to_state == "REJECTED") return e.evidence;
        return std::string("(no REJECTED entry)");
    };
    std::string ruled = booking();
    f.confirmer->on_change_reply(ruled, false, "appointment.max_days_ahead.too_far");
    CHECK(f.state(ruled) == TxState::Voided);
    CHECK(rejected_evidence(ruled) == "reply:rejected appointment.max_days_ahead.too_far");
    CHECK(refusal_code_of(rejected_evidence(ruled)) == "appointment.max_days_ahead.too_far");

    std::string late = booking();
    f.step(10s);
    REQUIRE(f.state(late) == TxState::InDoubt);
    f.confirmer->on_change_reply(late, false, "appointment.real_name_required.unverified");
    CHECK(refusal_code_of(rejected_evidence(late)) == "appointment.real_name_required.unverified");

    for (std::string bad : {std::string("Patient 王芳 110105194912310021 refused"), std::string("appointment"),
                            std::string("appointment..x"), std::string("Appointment.x.y"), std::string(".x.y"),
                            std::string("x.y."), "appointment." + std::string(kMaxRefusalCode, 'a'), std::string()}) {
        INFO(bad);
        std::string plain = booking();
        f.confirmer->on_change_reply(plain, false, bad);
        CHECK(rejected_evidence(plain) == "reply:rejected");
        CHECK_FALSE(refusal_code_of(rejected_evidence(plain)));
    }
    CHECK_FALSE(refusal_code_of("probe:rejected"));
    CHECK_FALSE(refusal_code_of("reply:rejectedappointment.x.y"));
}

namespace {
// The entries of `id`'s history with event `event`.
int absent_agent_entries(Fixture& f, const std::string& id, const std::string& event) {
    int n = 0;
    for (const auto& e : f.store->history(id).value()) n += e.event == event;
    return n;
}
}  // namespace

TEST_CASE("confirmer: an agent away 10 minutes holds the probes uncounted - back, they resume and settle it") {
    Fixture f;
    std::string id = f.dispatched();
    f.his.away = f.clock.wall_ms();  // the agent went offline as the change left
    f.step(10s);
    REQUIRE(f.state(id) == TxState::InDoubt);
    for (int i = 0; i < 11; ++i) f.step(60s);  // 3 probe slots would have gone to the manual queue
    CHECK(f.his.count("probe:" + id) == 0);
    CHECK(f.confirmer->manual_queue()->empty());
    CHECK(f.store->get(id).value()->probes == 0);
    CHECK(f.confirmer->counters().deferred_away == 11);
    CHECK(absent_agent_entries(f, id, "deferred") == 11);
    auto h = f.store->history(id).value();
    CHECK_THAT(h.back().evidence, Catch::Contains("hospital H001's agent offline since " + iso_utc_ms(*f.his.away)) &&
                                      Catch::Contains("not sent, not counted; probes 0"));
    f.his.away.reset();  // back
    f.step(60s);
    CHECK(f.his.count("probe:" + id) == 1);
    CHECK(f.store->get(id).value()->probes == 1);
    f.confirmer->on_probe_answer(id, HisStatus::Committed);
    CHECK(f.state(id) == TxState::Posted);
    CHECK(f.his.count("change:" + id) == 1);
    CHECK(f.confirmer->counters().manual == 0);
}

TEST_CASE("confirmer: an agent away past offline_patience sends it to the manual queue saying since when - a late reply still settles it") {
    Fixture f;
    f.options.offline_patience = 30min;
    REQUIRE(f.restart());
    std::string id = f.dispatched();
    const int64_t since = f.clock.wall_ms();
    f.his.away = since;
    f.step(10s);
    REQUIRE(f.state(id) == TxState::InDoubt);
    for (int i = 0; i < 29; ++i) f.step(60s);
    CHECK(f.confirmer->manual_queue()->empty());
    f.step(60s);  // 30 min 10 s after it went offline (the last hold was due at 30 min exactly)
    auto queue = f.confirmer->manual_queue();
    REQUIRE(queue->size() == 1);
    CHECK(f.confirmer->counters().manual_away == 1);
    CHECK_FALSE(f.confirmer->has_timer(id));
    CHECK(f.his.count("probe:" + id) == 0);
    auto h = f.store->history(id).value();
    CHECK(h.back().event == "manual");
    CHECK_THAT(h.back().evidence, Catch::Contains("hospital H001's agent offline since " + iso_utc_ms(since)) &&
                                      Catch::Contains("longer than ledger.offline_patience (1800 s)"));
    f.confirmer->on_change_reply(id, true);  // evidence settles it from the queue
    CHECK(f.state(id) == TxState::Posted);
}

TEST_CASE("confirmer: a restart while the agent is away keeps the held attempt - none lost, none doubled or counted") {
    Fixture f;
    std::string id = f.dispatched();
    f.his.away = f.clock.wall_ms();
    f.step(10s);
    f.step(3s);  // the first probe's slot: held, stored for 60 s later
    const int64_t next = f.store->get(id).value()->next_probe_ms;
    CHECK(next == f.clock.wall_ms() + 60'000);
    REQUIRE(f.restart());
    CHECK(f.confirmer->next_due_ms() == next);
    f.step(60s);  // still away: held again
    CHECK(f.his.count("probe:" + id) == 0);
    CHECK(f.store->get(id).value()->probes == 0);
    REQUIRE(f.restart());
    f.his.away.reset();
    f.step(60s);
    CHECK(f.his.count("probe:" + id) == 1);
    CHECK(f.store->get(id).value()->probes == 1);
    CHECK(absent_agent_entries(f, id, "deferred") == 2);
    // Away again after one probe: the two slots left are held, not spent.
    f.his.away = f.clock.wall_ms();
    for (int i = 0; i < 3; ++i) f.step(60s);
    CHECK(f.confirmer->manual_queue()->empty());
    CHECK(f.store->get(id).value()->probes == 1);
}

TEST_CASE("confirmer: an operator's not-done given while the agent is still away waits a fresh patience for its revoke") {
    Fixture f;
    f.options.offline_patience = 30min;
    REQUIRE(f.restart());
    std::string id = f.dispatched();
    f.his.away = f.clock.wall_ms();
    f.step(10s);
    for (int i = 0; i < 30; ++i) f.step(60s);
    REQUIRE(f.confirmer->manual_queue()->size() == 1);
    auto word = f.confirmer->resolve(id, false, "called the hospital: no such payment", "li");
    REQUIRE(word);
    CHECK(word->revoking);
    CHECK(f.his.count("revoke:" + id) == 0);  // it would be lost
    for (int i = 0; i < 29; ++i) f.step(60s);
    CHECK(f.confirmer->manual_queue()->empty());  // 29 min after the word: still waiting for the agent
    CHECK(f.his.count("revoke:" + id) == 0);
    f.his.away.reset();
    f.step(60s);
    CHECK(f.his.count("revoke:" + id) == 1);
    f.confirmer->on_revoke_answer(id, RevokeOutcome::Revoked);
    CHECK(f.state(id) == TxState::Rejected);
    CHECK(f.provider.count("refund:" + id) == 1);
}

// The first change of an attempt is not sent to an absent agent (docs/ledger.md, "An absent
// agent"): the payment waits HELD, nothing uncertain is made, and the registry's word that the
// agent is back (agent_back) sends it at once, once.
TEST_CASE("confirmer: a payment paid while its agent is away waits HELD, never sent - agent_back sends it at once, once") {
    Fixture f;
    auto in = test_util::intent();
    in.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.confirmer->create(in));
    f.his.away = f.clock.wall_ms();
    f.confirmer->on_payment_notification(in.id, in.amount_fen);
    CHECK(f.state(in.id) == TxState::Held);
    CHECK(f.his.count("change:" + in.id) == 0);
    CHECK(f.confirmer->has_timer(in.id));  // never left without one
    for (int i = 0; i < 5; ++i) f.step(60s);  // five held slots: nothing sent, nothing counted
    CHECK(f.state(in.id) == TxState::Held);
    CHECK(f.his.count("change:" + in.id) == 0);
    CHECK(f.confirmer->counters().dispatch_held_away == 6);
    CHECK(f.confirmer->counters().dispatched == 0);
    f.step(20s);  // between slots: the next held one is 40 s away
    f.his.away.reset();
    CHECK(f.confirmer->agent_back("H002") == 0);  // another hospital's agent wakes nothing here
    CHECK(f.confirmer->agent_back("H001") == 1);
    CHECK(f.confirmer->next_due_ms() == f.clock.wall_ms());
    f.confirmer->tick();  // no time passes: woken, not waiting for the slot
    CHECK(f.state(in.id) == TxState::Dispatched);
    CHECK(f.his.count("change:" + in.id) == 1);
    CHECK(f.confirmer->counters().woken_by_return == 1);
    f.confirmer->on_change_reply(in.id, true);
    CHECK(f.state(in.id) == TxState::Posted);
    CHECK(f.his.count("change:" + in.id) == 1);
    CHECK(f.provider.count("refund:" + in.id) == 0);
    // A wake for a settled transaction does nothing.
    CHECK(f.confirmer->agent_back("H001") == 0);
}

TEST_CASE("confirmer: a payment held past offline_patience is REJECTED as never sent and refunded - a restart keeps it held meanwhile") {
    Fixture f;
    f.options.offline_patience = 30min;
    REQUIRE(f.restart());
    auto in = test_util::intent();
    in.deadline_ms = f.clock.wall_ms() + 30'000;
    REQUIRE(f.confirmer->create(in));
    const int64_t since = f.clock.wall_ms();
    f.his.away = since;
    f.confirmer->on_payment_notification(in.id, in.amount_fen);
    REQUIRE(f.state(in.id) == TxState::Held);
    f.step(10min);
    REQUIRE(f.restart());  // HELD is never sent before the restart: resume() holds it again
    CHECK(f.state(in.id) == TxState::Held);
    CHECK(f.his.count("change:" + in.id) == 0);
    for (int i = 0; i < 19; ++i) f.step(60s);
    CHECK(f.state(in.id) == TxState::Held);  // 29 min away
    f.step(60s);  // the last hold is due at 30 min exactly
    CHECK(f.state(in.id) == TxState::Rejected);
    CHECK(f.his.count("change:" + in.id) == 0);  // certain: the HIS never had it
    CHECK(f.provider.count("refund:" + in.id) == 1);
    CHECK(f.confirmer->counters().never_sent_away == 1);
    auto h = f.store->history(in.id).value();
    bool said = false;
    for (const auto& e : h)
        said = said || (e.to_state == "REJECTED" && e.evidence.find("never sent: hospital H001's agent offline since " +
                                                                 iso_utc_ms(since)) != std::string::npos);
    CHECK(said);
    f.confirmer->on_refund_answer(in.id, true);
    CHECK(f.state(in.id) == TxState::Refunded);
    CHECK(f.store->get(in.id).value()->attempts == 0);  // no attempt was ever made
}

TEST_CASE("confirmer: probes held for an absent agent go when agent_back says it is back, not at the next held slot - after a restart too") {
    Fixture f;
    std::string id = f.dispatched();
    f.his.away = f.clock.wall_ms();
    f.step(10s);
    f.step(3s);  // the first probe's slot: held, next at +60 s
    REQUIRE(f.store->get(id).value()->next_probe_ms == f.clock.wall_ms() + 60'000);
    f.step(5s);
    f.his.away.reset();
    CHECK(f.confirmer->agent_back("H001") == 1);
    f.confirmer->tick();
    CHECK(f.his.count("probe:" + id) == 1);  // 55 s before the held slot
    CHECK(f.store->get(id).value()->probes == 1);
    // Away again, held again; a restart; back: the rebuilt timer is woken too.
    f.his.away = f.clock.wall_ms();
    f.step(60s);
    CHECK(f.his.count("probe:" + id) == 1);
    REQUIRE(f.restart());
    f.step(1s);
    f.his.away.reset();
    CHECK(f.confirmer->agent_back("H001") == 1);
    f.confirmer->tick();
    CHECK(f.his.count("probe:" + id) == 2);
    f.confirmer->on_probe_answer(id, HisStatus::Committed);
    CHECK(f.state(id) == TxState::Posted);
    CHECK(f.his.count("change:" + id) == 1);
    // A wake that comes while the port still says offline only holds it again: nothing sent.
    std::string other = f.dispatched();
    f.his.away = f.clock.wall_ms();
    f.step(10s);
    f.step(3s);
    CHECK(f.confirmer->agent_back("H001") == 1);
    f.confirmer->tick();
    CHECK(f.his.count("probe:" + other) == 0);
    CHECK(f.store->get(other).value()->probes == 0);
    CHECK(f.confirmer->has_timer(other));
}
