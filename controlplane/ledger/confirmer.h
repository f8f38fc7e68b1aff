// Multi-step confirmation (docs/ledger.md, "Confirmation"): drives one partition's
// transactions from their creation to a terminal state, and settles an uncertain outcome
// by evidence, never by a timeout.
//
// It knows nothing of MQTT: it talks to the hospital through a HisPort (the agent) and
// to the payment provider through a PaymentPort, both fire-and-forget; their answers come
// back, perhaps late, twice or never, through the on_* calls. It never sleeps and owns no
// thread: time comes from the injected clock, and tick() runs whatever is due, so the
// control plane calls it from a timer and the simulation from its event loop.
//
// The path of a payment:
//   create → CREATED, with a deadline for the patient to pay
//   provider notification (amount checked) → HELD → DISPATCHED (stored first) → send_change
//   reply committed → CONFIRMED → POSTED;  reply rejected → REJECTED → refund → REFUNDED
//   no reply within reply_timeout → IN_DOUBT: probes by the same id, 3 s doubling to a cap
//     probe/late reply committed → CONFIRMED;  rejected or revoked → REJECTED → refund
//     probe not_found → revoke at the HIS first: revoked → REJECTED → refund;
//                                                 already committed → CONFIRMED
//     max_probes unanswered → the manual queue; resolve() with evidence, audited:
//       committed → CONFIRMED; not done → revoked at the agent first (OperatorRevoke, any
//       kind): revoked → REJECTED, already committed → CONFIRMED; never on the word alone
//   the deadline passes unpaid (or a cancel before dispatch) → close at the provider first:
//     closed → REJECTED → VOIDED;  close fails because it was paid → HELD (and go on)
//
// An absent agent: a probe, revoke or re-ask due while the port says the hospital's agent is
//   offline (HisPort::away_since) is not sent and not counted: the next attempt is stored
//   (ScheduleProbe with the same count, entry `deferred`) probe_cap later, before anything
//   else, so a restart neither loses nor doubles it. Once the agent has been offline for
//   offline_patience, the manual queue, saying since when. Evidence (a late reply) still
//   settles it at any time, and the attempts resume where they were when the agent is back.
//   The first change of an attempt is held too: HELD is not dispatched while the agent is
//   offline (nothing sent, nothing uncertain); it waits on a timer (Waiting::Dispatch,
//   probe_cap) and goes out, once, when the agent is back. A correction (refund, cancel) the
//   ledger owes waits as long as it takes; a payment or booking held past offline_patience
//   is REJECTED as never sent (certain: the HIS cannot hold it) and its money goes back.
//   agent_back(hospital) (the fleet registry saw the agent's birth in a newer session) makes
//   every attempt held for that hospital due at once, instead of up to probe_cap later.
//
// A correction after POSTED (kind refund or cancel, `corrects` naming the original):
//   create → CREATED → HELD → DISPATCHED → send_change (the HIS refunds or cancels the
//   original order; the request carries the correction's own id)
//   reply committed → CONFIRMED; a refund then asks the provider to refund the original's
//     order (out_refund_no = the correction's id), retried until it answers refunded → POSTED
//     (each ask stored before it leaves; the next due `retry` later, doubling to the cap;
//     after max_probes asks also the manual queue; never two asks at once);
//     a cancel → POSTED at once (a booking moved no money)
//   reply rejected → REJECTED → VOIDED (nothing was corrected; the original stands)
//   no reply → IN_DOUBT: probes of the original's status (refunded / cancelled → CONFIRMED).
//     The original still paid or booked is NOT evidence (the change may be on its way) and
//     the probes revoke nothing; an operator's "not done" does (resolve()): the agent's
//     fence then holds the correction back by its request id, and the HIS's record of the
//     original (refunded / cancelled → already committed) settles it.
//     Every reask_every-th probe slot (at most max_reasks of them) re-asks the SAME change
//     under the SAME request id instead (stored first, entry `reask`): the agent keeps a task
//     id once, so it answers from its record, or carries out the first attempt that reaches
//     it, and a retried refund or cancel asks the HIS first (see fire(), Waiting::Probe).
//     After max_probes slots, the manual queue, where an operator settles it.
//   A prepaid pair's refund correction that ends VOIDED (the HIS refused it; the operator
//     found it not done) while its booking is released: the next refund of the pair
//     (prepaid_refund_id(booking, round)) is stored in the same commit, due retry·2^(round-2)
//     later; after max_prepaid_refund_rounds the last VOIDED one is marked manual for the
//     operators (listed with state=voided&manual=true), counted in prepaid_refunds_unbound;
//     the mark is cleared (ClearVoidedMark) in the commit of a later refund of that payment's
//     POSTED (an operator's or the patient's), so the settled pair leaves the list.
//
// A booking that requires prepayment (docs/ledger.md, "Prepaid bookings"): pay first, then
// book. create_prepaid() stores the booking and its payment together (each `binds` the
// other); the booking holds its slot (HELD) and waits; the payment goes the road above.
//   payment POSTED → the booking is dispatched (the store refuses it any earlier)
//   payment VOIDED or REFUNDED → the booking is released (cancelled → REJECTED → VOIDED)
//   booking REJECTED at the HIS (a reply, a probe, a revoke, an operator) after its payment
//     POSTED → a refund correction of the payment is stored with the booking's VOIDED, in one
//     commit, and goes the refund road (the HIS first, then the provider)
//   booking released while its payment was already at the HIS → the payment is settled by
//     evidence as any; if it POSTs, its refund correction is stored with its POSTED
//   either IN_DOUBT → the other waits: nothing is released on a lost answer.
//   booking POSTED, then cancelled by the patient (a cancel correction) → when the HIS
//     cancelled it (the cancel CONFIRMED), the payment's refund correction is stored with the
//     cancel's POSTED, in one commit; a cancel the HIS refused (VOIDED) refunds nothing
// The refund's id is derived from the booking's (prepaid_refund_id), so a restart in any
// gap creates it once.
//
// Invariants:
//  - A change goes to the HIS once per attempt, after its DISPATCHED is durable, and is
//    never resent: after dispatch only probes (same id) and a revoke go out, and for a
//    correction re-asks of the same attempt (the same request id, which the agent keeps
//    once: the HIS sees the attempt at most once whichever copy brings it).
//  - Nothing is refunded or released that the HIS may hold: a refund follows only a
//    rejection the HIS gave (a reply, a probe, a revoke) or a cancel before any dispatch.
//  - A refund after POSTED reaches the provider only after the HIS confirmed it (a reply,
//    a probe, an operator): the patient never gets back money the hospital still holds.
//  - Timeouts apply only before dispatch: after it, no answer means IN_DOUBT.
//  - Every transaction that is not terminal has a timer here (or is in the manual queue),
//    so none is forgotten; resume() rebuilds the timers from the store after a restart. A
//    correction's VOIDED the store failed to write keeps a retry timer (keep_followed).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "controlplane/ledger/ledger_store.h"

namespace hisgate::ledger {

// What the HIS says about an order it was asked about.
enum class HisStatus { Committed, Rejected, Revoked, NotFound };
// The answer to a revoke: the order is now fenced (any later change refused), or it was
// committed before the revoke came.
enum class RevokeOutcome { Revoked, AlreadyCommitted };
// The answer to closing the provider's order: closed (the patient can no longer pay) or
// the patient paid first.
enum class CloseOutcome { Closed, AlreadyPaid };

class HisPort {
public:
    virtual ~HisPort() = default;
    virtual void send_change(const Transaction& t) = 0;  // the order, id = t.intent.id
    virtual void probe(const Transaction& t) = 0;        // its status, by the same id
    virtual void revoke(const Transaction& t) = 0;       // close or revoke it; fences a late change
    // When the hospital's agent is offline: since when (wall ms), so a probe, revoke or
    // re-ask sent now would be lost. The Confirmer then does not send it and does not count
    // it (see "An absent agent" above). nullopt: online, or not known to be offline.
    virtual std::optional<int64_t> away_since(const Transaction& /*t*/) { return std::nullopt; }
};

class PaymentPort {
public:
    virtual ~PaymentPort() = default;
    virtual void close(const std::string& id) = 0;
    virtual void refund(const std::string& id, int64_t amount_fen) = 0;  // idempotent by id at the provider
    // A correction's refund: the order `order_id` (the payment corrected) refunded wholly
    // under the correction's id (out_refund_no = correction_id, idempotent by it); the
    // answer comes back by correction_id (on_refund_answer).
    virtual void refund_correction(const std::string& correction_id, const std::string& order_id, int64_t amount_fen) = 0;
};

struct ConfirmerOptions {
    std::chrono::milliseconds reply_timeout{std::chrono::seconds(10)};  // DISPATCHED → IN_DOUBT
    std::chrono::milliseconds first_probe{std::chrono::seconds(3)};
    std::chrono::milliseconds probe_cap{std::chrono::seconds(60)};
    std::chrono::milliseconds retry{std::chrono::seconds(5)};  // a close, revoke or refund unanswered
    int max_probes = 8;
    // A correction IN_DOUBT re-asks its change (same request id) in probe slots reask_every,
    // 2·reask_every, ... up to max_reasks of them (0: never).
    int reask_every = 2;
    int max_reasks = 3;
    // A prepaid pair's refund asked at most this many times (one correction each) before
    // the operators are told.
    int max_prepaid_refund_rounds = 3;
    // A transaction IN_DOUBT whose hospital's agent stays offline: its probes, revokes and
    // re-asks wait (not counted) for at most this long after the agent went offline, then
    // the manual queue says since when it was offline.
    std::chrono::milliseconds offline_patience{std::chrono::hours(24)};
    // Tests only: the policy this design forbids (refund when a reply times out), so a test
    // can show that the simulation's invariants catch it.
    bool broken_refund_on_timeout = false;
    // Tests only: take a probe's "not found" as proof and refund without revoking first.
    bool broken_refund_on_not_found = false;
    // Tests only: pay a refund after POSTED back when it is sent to the HIS, not after the
    // HIS confirmed it.
    bool broken_refund_before_his = false;
    // Tests only: re-ask a correction as a new attempt (a new request id), which the agent
    // cannot recognise: a resend before the outcome is settled.
    bool broken_reask_new_attempt = false;
    // Tests only: take an operator's "not done" as settled (REJECTED at once), with no
    // revoke at the agent: a change queued there is then carried out after its next round.
    bool broken_void_on_operator_word = false;
};

struct ConfirmerCounters {
    uint64_t dispatched = 0, in_doubt = 0, probes = 0, revokes = 0, closes = 0, refunds_asked = 0;
    uint64_t manual = 0, settled_by_probe = 0, settled_by_late_reply = 0, settled_by_revoke = 0;
    uint64_t refused_answers = 0;  // answers for unknown ids, wrong amounts, or a settled state
    uint64_t refunds_refused = 0;  // refund asks the provider answered "not refunded"
    uint64_t refunds_stuck = 0;    // refunds sent to the manual queue after max_probes asks
    uint64_t reasks = 0;           // corrections' changes re-asked under the same request id
    uint64_t prepaid_refunds_again = 0;    // a pair's refund asked again after a VOIDED one
    uint64_t prepaid_refunds_unbound = 0;  // a pair's last refund VOIDED: marked for the operators
    uint64_t prepaid_refunds_unmarked = 0;  // such a mark cleared: the payment refunded after all
    uint64_t deferred_away = 0;  // probes, revokes, re-asks not sent (not counted): the agent offline
    uint64_t manual_away = 0;    // of `manual`: its agent offline past offline_patience
    uint64_t dispatch_held_away = 0;  // first changes of an attempt held (HELD, not sent): the agent offline
    uint64_t never_sent_away = 0;     // payments or bookings REJECTED unsent after offline_patience
    uint64_t woken_by_return = 0;     // held attempts made due at once by agent_back()
    uint64_t unstored_retries = 0;  // a correction's VOIDED not stored (the disk, a refusal): retried later
};

// The id of the refund correction that returns a prepaid booking's payment when the booking
// does not stand: derived from the booking's id, so it is created once across restarts.
std::string prepaid_refund_id(const std::string& booking_id);
// The refund of round `round` (1: prepaid_refund_id) of a prepaid pair: a later round
// follows a VOIDED one (the HIS refused it, or an operator found it not done).
std::string prepaid_refund_id(const std::string& booking_id, int round);
// The round of a prepaid pair's refund `refund_id` (1 .. max_rounds), else 0.
int prepaid_refund_round(const std::string& booking_id, const std::string& refund_id, int max_rounds);
// The id of a prepaid booking's payment, derived from the booking's (the request's one
// Idempotency-Key stands for the pair).
std::string prepaid_payment_id(const std::string& booking_id);

class Confirmer {
public:
    Confirmer(LedgerStore& store, Clock& clock, HisPort& his, PaymentPort& provider, ConfirmerOptions options = {});

    // Rebuilds every timer from the store: call once after opening it (a restart).
    Result<void> resume();

    // A new transaction (a retry of the same create answers the stored one). A booking is
    // HELD at once (its slot) and dispatched; a payment waits for the provider.
    Result<Transaction> create(const TransactionIntent& intent);
    // A booking that requires prepayment, and its payment (each naming the other in
    // `binds`): both stored or neither. Answers the booking (HELD, waiting for the payment).
    Result<Transaction> create_prepaid(const TransactionIntent& booking, const TransactionIntent& payment);
    // The patient cancels. Before dispatch the provider's order is closed first (a payment)
    // and the cancel recorded, so a late dispatch is refused; after it, refused.
    Result<Transaction> cancel(const std::string& id);

    // Answers and evidence, from the provider and the HIS.
    void on_payment_notification(const std::string& id, int64_t amount_fen);
    void on_close_answer(const std::string& id, CloseOutcome outcome);
    void on_refund_answer(const std::string& id, bool refunded);
    // `refusal`: when the hospital refused the change, the code it named (an appointment
    // rule's "appointment.<rule>.<reason>"), kept in the REJECTED entry's evidence (refusal.h).
    void on_change_reply(const std::string& id, bool committed, std::string_view refusal = {});
    void on_probe_answer(const std::string& id, HisStatus status);
    void on_revoke_answer(const std::string& id, RevokeOutcome outcome);

    // The hospital's agent is back (the fleet registry saw its birth in a newer session):
    // every attempt held for it (a probe, re-ask, revoke or first dispatch) is made due now,
    // so the next tick() sends it. Answers how many. Nothing is sent here: the attempt still
    // asks the port first, so a wake that came too early only holds it again.
    size_t agent_back(const std::string& hospital_id);

    // Runs every timer due at the clock's time.
    void tick();
    std::optional<int64_t> next_due_ms() const;
    bool has_timer(const std::string& id) const { return due_of_.contains(id); }
    size_t timers() const { return due_of_.size(); }

    // The operators' queue: IN_DOUBT transactions the probes gave up on. (Refunds the
    // provider kept refusing are marked manual too, in their own state, and still asked;
    // LedgerService lists them with state=confirmed or rejected.)
    Result<std::vector<Transaction>> manual_queue();
    // An operator settles one: `committed` from the evidence they name (a call to the
    // hospital, its statement). Recorded with their name and the evidence. Committed moves
    // it to CONFIRMED. Not done revokes it at the agent first and answers it still IN_DOUBT
    // with `revoking` set: the revoke's answer settles it (a change queued at the agent
    // would otherwise reach the HIS after its refund or next round); unanswered revokes
    // bring it back to the manual queue.
    Result<Transaction> resolve(const std::string& id, bool committed, const std::string& evidence,
                                const std::string& operator_name);

    const ConfirmerCounters& counters() const { return counters_; }

private:
    // What an id waits for; one at a time per transaction.
    enum class Waiting { Deadline, Close, Reply, Probe, Revoke, Refund, Void, Dispatch };
    int64_t now() const { return clock_.wall_ms(); }
    void set_timer(const std::string& id, int64_t due_ms, Waiting what);
    void clear_timer(const std::string& id);
    std::optional<Transaction> load(const std::string& id);
    std::optional<Transaction> move(const std::string& id, TxState from, TxState to, const std::string& evidence,
                                    const std::string& actor = "confirmer");
    // Carries a transaction on from a state that needs no answer (HELD, CONFIRMED, REJECTED).
    void advance(Transaction t);
    void dispatch(Transaction t);
    void enter_doubt(const Transaction& t, const std::string& evidence);
    void settle_doubt(const std::string& id, bool committed, const std::string& evidence);
    void fire(const std::string& id, Waiting what);
    int64_t probe_delay(int probes) const;
    // The port says the hospital's agent is offline: the attempt `what` due now (a probe,
    // re-ask or revoke) is not sent; the next is stored probe_cap later with the count
    // unchanged, or past offline_patience the manual queue. True when handled so.
    bool held_for_absent_agent(const Transaction& t, Waiting what);
    // The port says the hospital's agent is offline at dispatch: HELD stays HELD, nothing is
    // sent; a timer (Waiting::Dispatch) tries again probe_cap later. A payment or booking
    // past offline_patience is REJECTED as never sent. True when handled so.
    bool dispatch_held_for_absent_agent(const Transaction& t);
    // The words an operator and the history read for an absent agent, one wording for every
    // attempt held or given up: "hospital H's agent offline since T" and
    // ", longer than ledger.offline_patience (N s)".
    std::string agent_offline_words(const Transaction& t, int64_t since_ms) const;
    std::string past_patience_words() const;
    // Sets the timer of an attempt held for `t`'s absent agent, so agent_back() finds it.
    void hold_for_agent(const Transaction& t, int64_t due_ms, Waiting what);
    // A refund awaiting the provider (awaits_provider_refund): ask number `asks` is stored
    // (ScheduleProbe: the count and the next ask's time), then sent, once; the next ask is
    // due refund_delay(asks) later: `retry`, doubling to the cap (probe_cap, at least retry).
    void ask_refund(const Transaction& t, int asks);
    int64_t refund_delay(int asks) const;
    // Prepaid bookings: what one of a bound pair's moves means for the other.
    void follow_binding(const Transaction& t);
    // Stores `commands` in one commit, then starts the refund correction among them.
    void with_refund(std::vector<Command> commands, const Transaction& payment, const std::string& booking_id);
    // CREATED -> HELD, then out to the HIS: a booking (its slot held) or a correction. False
    // when the move was refused (the transaction is no longer CREATED).
    bool hold_and_send(const TransactionIntent& intent);
    Result<Transaction> cancel_as(const std::string& id, const std::string& reason, const std::string& actor);
    // The number of the re-ask a correction's probe slot `slot` is, else 0 (a probe).
    int reask_number(const Transaction& t, int slot) const;
    // A correction REJECTED: VOIDED, and for a prepaid pair's refund whose booking is
    // released, in the same commit the pair's next refund or the operators' mark.
    // Its store write failed or was refused: still REJECTED, so a retry timer (Waiting::Void,
    // `retry` later; keep_followed), never left without one until a restart.
    void void_correction(const Transaction& t);
    // Sets a `retry` timer (Waiting::Void) on `id` unless it has one, is terminal or is in the
    // manual queue: the invariant below, kept where a step may end without its move stored.
    void keep_followed(const std::string& id);

    LedgerStore& store_;
    Clock& clock_;
    HisPort& his_;
    PaymentPort& provider_;
    ConfirmerOptions options_;
    ConfirmerCounters counters_;
    std::set<std::pair<int64_t, std::string>> timers_;  // (due, id): ordered, so replays are exact
    std::map<std::string, std::pair<int64_t, Waiting>> due_of_;
    std::set<std::string> cancelling_;  // a cancel waits for the provider's close
    // Ids whose timer is an attempt held for an absent agent → their hospital (agent_back).
    // Cleared with the timer: a held attempt that fires, or is settled, leaves it.
    std::map<std::string, std::string> held_for_agent_;
};

}  // namespace hisgate::ledger
