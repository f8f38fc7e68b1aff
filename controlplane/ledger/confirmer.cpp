#include "controlplane/ledger/confirmer.h"

#include <algorithm>
#include <string_view>

#include "common/digest.h"
#include "common/utc_time.h"
#include "controlplane/ledger/refusal.h"

namespace hisgate::ledger {

namespace {
// An id derived from a booking's: the same booking gives the same id in every process and
// after every restart, so what it names is created once.
std::string derived_from_booking(std::string_view tag, const std::string& booking_id) {
    return sha256_hex(std::string(tag) + ":" + booking_id).substr(0, 32);
}
}  // namespace

std::string prepaid_refund_id(const std::string& booking_id) { return derived_from_booking("prepaid-refund", booking_id); }

std::string prepaid_payment_id(const std::string& booking_id) { return derived_from_booking("prepaid-payment", booking_id); }

std::string prepaid_refund_id(const std::string& booking_id, int round) {
    return round <= 1 ? prepaid_refund_id(booking_id) : derived_from_booking("prepaid-refund-" + std::to_string(round), booking_id);
}

int prepaid_refund_round(const std::string& booking_id, const std::string& refund_id, int max_rounds) {
    for (int round = 1; round <= max_rounds; ++round)
        if (prepaid_refund_id(booking_id, round) == refund_id) return round;
    return 0;
}

Confirmer::Confirmer(LedgerStore& store, Clock& clock, HisPort& his, PaymentPort& provider, ConfirmerOptions options)
    : store_(store), clock_(clock), his_(his), provider_(provider), options_(options) {}

Result<void> Confirmer::resume() {
    auto open = store_.unfinished();
    if (!open) return open.error();
    for (Transaction& t : *open) {
        switch (t.state) {
            case TxState::Created:
                // A payment's pay window; a correction not before its due time (a prepaid
                // pair's next refund round); a booking at once.
                set_timer(t.intent.id,
                          t.intent.kind == TxKind::Payment ? t.intent.deadline_ms
                          : is_correction(t.intent.kind)   ? std::max(now(), t.intent.deadline_ms)
                                                           : now(),
                          Waiting::Deadline);
                break;
            case TxState::Dispatched:
                // Its reply may have been lost with the process: it waits out the rest of
                // the reply timeout, and then probes. It is never sent again.
                set_timer(t.intent.id, t.dispatched_ms + options_.reply_timeout.count(), Waiting::Reply);
                break;
            case TxState::InDoubt:
                if (t.manual) break;
                // Held for an absent agent before the restart: its return wakes it again.
                if (his_.away_since(t)) hold_for_agent(t, t.next_probe_ms, t.revoking ? Waiting::Revoke : Waiting::Probe);
                else set_timer(t.intent.id, t.next_probe_ms, t.revoking ? Waiting::Revoke : Waiting::Probe);
                break;
            default:
                if (awaits_provider_refund(t) && t.next_probe_ms > 0) {
                    // A refund asked before: the next ask at its stored time, the count kept.
                    set_timer(t.intent.id, std::max(now(), t.next_probe_ms), Waiting::Refund);
                    break;
                }
                advance(std::move(t));  // HELD (never sent: DISPATCHED is stored first), CONFIRMED, REJECTED
        }
    }
    return {};
}

Result<Transaction> Confirmer::create(const TransactionIntent& intent) {
    auto t = store_.apply_one(Create{intent}, now());
    if (!t) return t;
    if (t->state != TxState::Created || has_timer(intent.id)) return t;  // a retried create
    if (intent.kind != TxKind::Payment) {
        // A booking holds its slot; a correction holds nothing of its own: both go out now.
        if (!hold_and_send(intent)) return t;
        auto now_t = load(intent.id);
        return now_t ? Result<Transaction>(*now_t) : t;
    }
    set_timer(intent.id, intent.deadline_ms, Waiting::Deadline);
    return t;
}

Result<Transaction> Confirmer::create_prepaid(const TransactionIntent& booking, const TransactionIntent& payment) {
    auto t = store_.apply_one(CreatePrepaid{booking, payment}, now());
    if (!t) return t;
    if (t->state != TxState::Created) return t;  // a retried create
    if (!has_timer(payment.id)) set_timer(payment.id, payment.deadline_ms, Waiting::Deadline);
    auto held = move(booking.id, TxState::Created, TxState::Held, "slot held; awaiting prepayment " + payment.id);
    return held ? Result<Transaction>(*held) : t;
}

Result<Transaction> Confirmer::cancel(const std::string& id) { return cancel_as(id, "cancelled by the patient", "portal"); }

Result<Transaction> Confirmer::cancel_as(const std::string& id, const std::string& reason, const std::string& actor) {
    auto t = store_.apply_one(Cancel{id, reason, actor}, now());
    if (!t) return t;
    if (t->exists) {
        clear_timer(id);
        advance(*t);  // closes the provider's order, or refunds what was held
    }
    return t;
}

void Confirmer::on_payment_notification(const std::string& id, int64_t amount_fen) {
    auto t = load(id);
    if (!t || t->intent.kind != TxKind::Payment || t->intent.amount_fen != amount_fen) {
        ++counters_.refused_answers;
        return;
    }
    if (t->state == TxState::Created) {
        clear_timer(id);
        if (auto held = move(id, TxState::Created, TxState::Held, "provider:paid")) dispatch(*held);
    } else if (t->state == TxState::Rejected && !t->funds_held && t->attempts == 0) {
        // Paid while the cancel was closing the order: the money goes back.
        auto funded = store_.apply_one(FundsArrived{id, "provider:paid after cancel"}, now());
        if (funded) {
            clear_timer(id);
            advance(*funded);
        }
    }
    // Otherwise a duplicate notification: already held, nothing to do.
}

void Confirmer::on_close_answer(const std::string& id, CloseOutcome outcome) {
    auto t = load(id);
    if (!t) return void(++counters_.refused_answers);
    auto waiting = due_of_.find(id);
    if (waiting == due_of_.end() || waiting->second.second != Waiting::Close) return;  // stale or duplicate
    clear_timer(id);
    if (t->state == TxState::Created) {
        if (outcome == CloseOutcome::AlreadyPaid) {
            // The patient paid in the gap: the money is here, go on with it.
            if (auto held = move(id, TxState::Created, TxState::Held, "provider:close refused, already paid")) dispatch(*held);
        } else if (move(id, TxState::Created, TxState::Rejected, "deadline passed unpaid; provider order closed")) {
            move(id, TxState::Rejected, TxState::Voided, "provider:closed");
        }
    } else if (t->state == TxState::Rejected && !t->funds_held) {
        if (outcome == CloseOutcome::Closed) {
            move(id, TxState::Rejected, TxState::Voided, "provider:closed");
        } else if (auto funded = store_.apply_one(FundsArrived{id, "provider:close refused, already paid"}, now())) {
            advance(*funded);
        }
    }
}

void Confirmer::on_refund_answer(const std::string& id, bool refunded) {
    auto t = load(id);
    if (t && t->intent.kind == TxKind::Refund && t->state == TxState::Confirmed) {
        // A refund after POSTED: the HIS refunded, now the provider did.
        if (!refunded) return void(++counters_.refunds_refused);  // the retry timer asks again, later
        // The payment is refunded: a VOIDED refund of it marked for the operators (a prepaid
        // pair's round that did not happen) leaves their list in the same commit.
        std::vector<Command> commands{Move{id, TxState::Posted, "provider:refunded", "confirmer", TxState::Confirmed}};
        if (auto earlier = store_.corrections_of(t->intent.corrects))
            for (const auto& c : *earlier)
                if (c.state == TxState::Voided && c.manual && c.intent.kind == TxKind::Refund)
                    commands.push_back(ClearVoidedMark{c.intent.id, "the payment " + t->intent.corrects + " refunded by " + id +
                                                                        " (POSTED): the pair is settled"});
        auto done = store_.apply(commands, now());
        // Not stored: the refund timer stays and asks again (the provider answers by the same id).
        if (!done) return;
        if (!(*done)[0]) return void(++counters_.refused_answers);
        clear_timer(id);
        for (size_t i = 1; i < done->size(); ++i)
            if ((*done)[i]) ++counters_.prepaid_refunds_unmarked;
            else ++counters_.refused_answers;
        return;
    }
    if (!t || t->state != TxState::Rejected) return void(++counters_.refused_answers);
    if (!refunded) return void(++counters_.refunds_refused);  // the retry timer asks again, later
    clear_timer(id);
    move(id, TxState::Rejected, TxState::Refunded, "provider:refunded");
}

void Confirmer::on_change_reply(const std::string& id, bool committed, std::string_view refusal) {
    auto t = load(id);
    if (!t) return void(++counters_.refused_answers);
    std::string evidence = committed ? "reply:committed" : rejected_reply_evidence(refusal);
    if (t->state == TxState::Dispatched) {
        clear_timer(id);
        if (auto next = move(id, TxState::Dispatched, committed ? TxState::Confirmed : TxState::Rejected, evidence))
            advance(*next);
    } else if (t->state == TxState::InDoubt) {
        ++counters_.settled_by_late_reply;
        settle_doubt(id, committed, "late " + evidence);
    } else {
        ++counters_.refused_answers;  // a duplicate, or an answer for a settled transaction
    }
}

void Confirmer::on_probe_answer(const std::string& id, HisStatus status) {
    auto t = load(id);
    if (!t || t->state != TxState::InDoubt) return void(++counters_.refused_answers);
    switch (status) {
        case HisStatus::Committed:
            ++counters_.settled_by_probe;
            return settle_doubt(id, true, "probe:committed");
        case HisStatus::Rejected:
            ++counters_.settled_by_probe;
            return settle_doubt(id, false, "probe:rejected");
        case HisStatus::Revoked:
            ++counters_.settled_by_probe;
            return settle_doubt(id, false, "probe:revoked");
        case HisStatus::NotFound:
            // A correction not seen at the HIS yet: no evidence either way, and no revoke
            // (the agent fences payments and bookings, not refunds): the probes go on.
            if (is_correction(t->intent.kind)) return;
            if (options_.broken_refund_on_not_found) return settle_doubt(id, false, "probe:not_found");
            // Not there now does not mean never: the change may still be on its way. Revoke
            // it first, so that it is refused if it comes, and settle by the revoke's answer.
            ++counters_.revokes;
            his_.revoke(*t);
            set_timer(id, now() + options_.retry.count(), Waiting::Revoke);
            return;
    }
}

void Confirmer::on_revoke_answer(const std::string& id, RevokeOutcome outcome) {
    auto t = load(id);
    // A correction is revoked only on an operator's word (its probes never revoke it).
    if (!t || t->state != TxState::InDoubt || (is_correction(t->intent.kind) && !t->revoking))
        return void(++counters_.refused_answers);
    ++counters_.settled_by_revoke;
    const std::string after = t->revoking ? " (an operator had found it not done)" : "";
    if (outcome == RevokeOutcome::AlreadyCommitted) settle_doubt(id, true, "his:revoke refused, already committed" + after);
    else settle_doubt(id, false, "his:revoked" + after);
}

size_t Confirmer::agent_back(const std::string& hospital_id) {
    std::vector<std::pair<std::string, Waiting>> woken;
    for (const auto& [id, hospital] : held_for_agent_)
        if (hospital == hospital_id)
            if (auto it = due_of_.find(id); it != due_of_.end()) woken.emplace_back(id, it->second.second);
    // Due now, the kind of attempt unchanged; the stored schedule (next_probe_ms) is
    // overwritten when the attempt goes, so a restart before it waits at most probe_cap.
    for (const auto& [id, what] : woken) set_timer(id, now(), what);
    counters_.woken_by_return += woken.size();
    return woken.size();
}

void Confirmer::tick() {
    int64_t at = now();
    while (!timers_.empty() && timers_.begin()->first <= at) {
        auto [due, id] = *timers_.begin();
        Waiting what = due_of_.at(id).second;
        timers_.erase(timers_.begin());
        due_of_.erase(id);
        held_for_agent_.erase(id);
        fire(id, what);
    }
}

std::optional<int64_t> Confirmer::next_due_ms() const {
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first;
}

Result<std::vector<Transaction>> Confirmer::manual_queue() {
    auto doubt = store_.in_state(TxState::InDoubt, 100000);
    if (!doubt) return doubt.error();
    std::vector<Transaction> out;
    for (auto& t : *doubt)
        if (t.manual) out.push_back(std::move(t));
    return out;
}

Result<Transaction> Confirmer::resolve(const std::string& id, bool committed, const std::string& evidence,
                                       const std::string& operator_name) {
    if (operator_name.empty())
        return make_error(ErrorClass::BadInput, "ledger.operator_required", "resolve: the operator must be named");
    if (!committed && !options_.broken_void_on_operator_word) {
        // "Not done" is what the operator saw at the HIS, not what may still reach it: the
        // change can be queued at the agent (its HIS was down) or on its way, and carried
        // out after this transaction's refund or its next round. Only the agent's fence can
        // stop it, so the word is recorded and the revoke's answer settles it.
        int64_t next = now() + options_.retry.count();
        auto t = store_.apply_one(OperatorRevoke{id, evidence, "operator:" + operator_name, next}, now());
        if (!t) return t;
        // Its agent offline: the revoke would be lost, so it goes when its timer finds the
        // agent back (held_for_absent_agent); it takes no slot meanwhile.
        if (!his_.away_since(*t)) {
            ++counters_.revokes;
            his_.revoke(*t);
            set_timer(id, next, Waiting::Revoke);
        } else {
            hold_for_agent(*t, next, Waiting::Revoke);
        }
        return t;
    }
    Move m{id, committed ? TxState::Confirmed : TxState::Rejected, evidence, "operator:" + operator_name, TxState::InDoubt};
    auto t = store_.apply_one(m, now());
    if (!t) return t;
    clear_timer(id);
    advance(*t);
    auto final_t = load(id);
    return final_t ? Result<Transaction>(*final_t) : t;
}

void Confirmer::set_timer(const std::string& id, int64_t due_ms, Waiting what) {
    clear_timer(id);
    timers_.emplace(due_ms, id);
    due_of_[id] = {due_ms, what};
}

void Confirmer::clear_timer(const std::string& id) {
    held_for_agent_.erase(id);
    auto it = due_of_.find(id);
    if (it == due_of_.end()) return;
    timers_.erase({it->second.first, id});
    due_of_.erase(it);
}

std::optional<Transaction> Confirmer::load(const std::string& id) {
    auto t = store_.get(id);
    if (!t || !*t) return std::nullopt;
    return **t;
}

std::optional<Transaction> Confirmer::move(const std::string& id, TxState from, TxState to, const std::string& evidence,
                                           const std::string& actor) {
    Move m{id, to, evidence, actor, from};
    auto t = store_.apply_one(m, now());
    if (!t) {
        ++counters_.refused_answers;
        return std::nullopt;
    }
    if (!t->intent.binds.empty()) follow_binding(*t);
    return *t;
}

void Confirmer::follow_binding(const Transaction& t) {
    if (!is_terminal(t.state)) return;
    auto other = load(t.intent.binds);
    if (!other) return;
    if (t.intent.kind == TxKind::Payment) {
        if (t.state == TxState::Posted) {
            // Paid: the booking may go to the hospital now (advance dispatches a HELD one).
            if (other->state == TxState::Held) advance(*other);
            return;
        }
        // VOIDED or REFUNDED: nothing paid stands, so the slot is released.
        if (other->state == TxState::Created || other->state == TxState::Held)
            if (!cancel_as(other->intent.id, "prepayment " + t.intent.id + " " + std::string(to_string(t.state)), "confirmer"))
                ++counters_.refused_answers;
        return;
    }
    // A bound booking released (VOIDED): a payment not yet at the HIS is cancelled (its
    // provider order closed, or its money refunded); one at the HIS or in doubt is settled by
    // evidence and, if it POSTs, refunded then (advance, CONFIRMED); a POSTED one was given
    // its refund together with this VOIDED.
    if (t.state == TxState::Voided && (other->state == TxState::Created || other->state == TxState::Held))
        if (!cancel_as(other->intent.id, "its booking " + t.intent.id + " was released", "confirmer")) ++counters_.refused_answers;
}

void Confirmer::with_refund(std::vector<Command> commands, const Transaction& payment, const std::string& booking_id) {
    TransactionIntent fix = payment.intent;
    fix.id = prepaid_refund_id(booking_id);
    fix.kind = TxKind::Refund;
    fix.purpose = "refund";
    fix.deadline_ms = 0;
    fix.corrects = payment.intent.id;
    fix.binds.clear();
    commands.push_back(Create{fix});
    auto done = store_.apply(commands, now());
    if (!done) return;  // nothing stored: the caller's state is unchanged and resume() retries
    for (auto& r : *done)
        if (!r) ++counters_.refused_answers;
    // Held and sent like any correction (a retried create answers the stored one).
    auto refund = load(fix.id);
    if (refund && refund->state == TxState::Created && !has_timer(fix.id)) hold_and_send(fix);
}

bool Confirmer::hold_and_send(const TransactionIntent& intent) {
    auto held = move(intent.id, TxState::Created, TxState::Held,
                     is_correction(intent.kind) ? "correction of " + intent.corrects : "slot held");
    if (!held) return false;
    dispatch(*held);
    return true;
}

void Confirmer::advance(Transaction t) {
    const std::string& id = t.intent.id;
    switch (t.state) {
        case TxState::Held:
            if (t.intent.kind == TxKind::Booking && !t.intent.binds.empty()) {
                // A prepaid booking goes out only on a POSTED payment; a payment that ended
                // otherwise releases it; one still under way will call it (follow_binding).
                auto p = load(t.intent.binds);
                if (p && p->state == TxState::Posted) return dispatch(std::move(t));
                if (p && is_terminal(p->state)) follow_binding(*p);
                return;
            }
            return dispatch(std::move(t));
        case TxState::Confirmed:
            clear_timer(id);
            if (t.intent.kind == TxKind::Payment && !t.intent.binds.empty()) {
                auto b = load(t.intent.binds);
                if (b && (b->state == TxState::Voided || b->state == TxState::Rejected)) {
                    // Committed at the HIS after its booking was released: POSTED and its
                    // refund in one commit, so no restart leaves it paid with no booking.
                    with_refund({Move{id, TxState::Posted, "posted to the hospital's account", "confirmer", TxState::Confirmed}},
                                t, b->intent.id);
                    return;
                }
            }
            if (t.intent.kind == TxKind::Refund) {
                // The HIS refunded: only now does the patient's money go back.
                ask_refund(t, 1);
                return;
            }
            if (t.intent.kind == TxKind::Cancel) {
                auto b = load(t.intent.corrects);
                auto p = b && !b->intent.binds.empty() ? load(b->intent.binds) : std::nullopt;
                if (p && p->state == TxState::Posted) {
                    // The HIS cancelled a prepaid booking: its payment goes back by a refund
                    // correction (the HIS first, then the provider), stored in the same commit
                    // as the cancel's POSTED, so no restart leaves a cancelled booking paid for.
                    // Only now: a cancel the HIS refused or has not answered refunds nothing.
                    with_refund({Move{id, TxState::Posted, "cancelled at the hospital; prepayment refunded", "confirmer",
                                      TxState::Confirmed}},
                                *p, b->intent.id);
                    return;
                }
            }
            move(id, TxState::Confirmed, TxState::Posted,
                 t.intent.kind == TxKind::Cancel ? "cancelled at the hospital" : "posted to the hospital's account");
            return;
        case TxState::Rejected:
            if (t.funds_held) {
                ask_refund(t, 1);
            } else if (t.intent.kind == TxKind::Payment) {
                // Nothing held yet, but the patient may be paying: close the order first.
                ++counters_.closes;
                provider_.close(id);
                set_timer(id, now() + options_.retry.count(), Waiting::Close);
            } else if (is_correction(t.intent.kind)) {
                void_correction(t);
            } else {
                if (t.intent.kind == TxKind::Booking && !t.intent.binds.empty()) {
                    auto p = load(t.intent.binds);
                    if (p && p->state == TxState::Posted) {
                        // The HIS refused a booking that was paid for: the slot is released and
                        // the payment refunded (a correction after POSTED), in one commit.
                        with_refund({Move{id, TxState::Voided, "slot released; prepayment refunded", "confirmer",
                                          TxState::Rejected}},
                                    *p, id);
                        return;
                    }
                }
                move(id, TxState::Rejected, TxState::Voided, "slot released");
            }
            return;
        default:
            return;
    }
}

void Confirmer::dispatch(Transaction t) {
    // The agent away: the change would be lost and leave the transaction in doubt for
    // nothing. It waits HELD (never sent) instead.
    if (dispatch_held_for_absent_agent(t)) return;
    auto sent = move(t.intent.id, TxState::Held, TxState::Dispatched, "attempt " + std::to_string(t.attempts + 1));
    if (!sent) return;
    ++counters_.dispatched;
    // Durable first, then the one send of this attempt.
    his_.send_change(*sent);
    if (options_.broken_refund_before_his && sent->intent.kind == TxKind::Refund)  // the forbidden policy, for its test
        provider_.refund_correction(sent->intent.id, sent->intent.corrects, sent->intent.amount_fen);
    set_timer(t.intent.id, now() + options_.reply_timeout.count(), Waiting::Reply);
}

void Confirmer::enter_doubt(const Transaction& t, const std::string& evidence) {
    const std::string& id = t.intent.id;
    if (!move(id, TxState::Dispatched, TxState::InDoubt, evidence)) return;
    ++counters_.in_doubt;
    int64_t next = now() + options_.first_probe.count();
    if (store_.apply_one(ScheduleProbe{id, 0, next}, now())) set_timer(id, next, Waiting::Probe);
}

void Confirmer::settle_doubt(const std::string& id, bool committed, const std::string& evidence) {
    clear_timer(id);
    if (auto next = move(id, TxState::InDoubt, committed ? TxState::Confirmed : TxState::Rejected, evidence)) advance(*next);
}

int64_t Confirmer::probe_delay(int probes) const {
    int64_t delay = options_.first_probe.count();
    for (int i = 0; i < probes && delay < options_.probe_cap.count(); ++i) delay *= 2;
    return std::min<int64_t>(delay, options_.probe_cap.count());
}

void Confirmer::fire(const std::string& id, Waiting what) {
    auto t = load(id);
    if (!t) return;
    switch (what) {
        case Waiting::Deadline:
            if (t->state != TxState::Created) return;
            if (is_correction(t->intent.kind)) {  // created before a crash, never sent: out now
                if (auto held = move(id, TxState::Created, TxState::Held, "correction of " + t->intent.corrects)) dispatch(*held);
                return;
            }
            if (t->intent.kind == TxKind::Booking) {
                // Created before a crash and never held: hold its slot now and go on.
                if (auto held = move(id, TxState::Created, TxState::Held, "slot held")) advance(*held);
                return;
            }
            [[fallthrough]];
        case Waiting::Close:
            if (t->state != TxState::Created && !(t->state == TxState::Rejected && !t->funds_held)) return;
            ++counters_.closes;
            provider_.close(id);
            set_timer(id, now() + options_.retry.count(), Waiting::Close);
            return;
        case Waiting::Reply:
            if (t->state != TxState::Dispatched) return;
            if (options_.broken_refund_on_timeout) {  // the forbidden policy, for the test that catches it
                if (auto r = move(id, TxState::Dispatched, TxState::Rejected, "timeout")) advance(*r);
                return;
            }
            return enter_doubt(*t, "reply:none within " + std::to_string(options_.reply_timeout.count()) + " ms");
        case Waiting::Probe: {
            if (t->state != TxState::InDoubt || t->manual) return;
            if (t->probes >= options_.max_probes) {
                if (store_.apply_one(ToManual{id, std::to_string(t->probes) + " probes unanswered"}, now()))
                    ++counters_.manual;
                return;
            }
            if (held_for_absent_agent(*t, what)) return;
            int probes = t->probes + 1;
            int64_t next = now() + probe_delay(probes);
            const int reask = reask_number(*t, probes);
            // The schedule is stored before the probe (or re-ask) leaves, so a restart
            // neither loses nor doubles it: the slot's number is durable, and a restart
            // waits for the next slot at its stored time.
            if (!store_.apply_one(ScheduleProbe{id, probes, next, reask}, now())) return;
            if (reask > 0) {
                // A correction the HIS has not shown done (probes "not yet" or unanswered):
                // the same change again, the same attempt (t->attempts unchanged), so the
                // same request id <id>-change-<attempt>. This is not a resend before the
                // outcome is settled, because it is not a second attempt at the HIS:
                //  - the agent keeps a task id once (its state file, for its retention, 24 h,
                //    far beyond the re-asks' few minutes): a task it already has is answered
                //    from its record or, still running, answered when it ends; it reaches
                //    the HIS at most once whichever copy of the request brings it;
                //  - if no copy reached the agent (it was away, the request was lost), the
                //    HIS cannot have seen it (only the agent talks to the HIS), and this copy
                //    is the attempt's first arrival;
                //  - an attempt the agent ran whose HIS call ended without an answer is
                //    retried by the agent's queue, and a retried refund or cancel asks the
                //    HIS's status first (agent/request_types.cpp, pay<true>, cancel): done
                //    → answered from the HIS's record, never carried out twice.
                // The router, too, answers an id it has an answer for from that answer.
                ++counters_.reasks;
                Transaction same = *t;
                if (options_.broken_reask_new_attempt) ++same.attempts;  // the forbidden policy, for its test
                his_.send_change(same);
            } else {
                ++counters_.probes;
                his_.probe(*t);
            }
            set_timer(id, next, Waiting::Probe);
            return;
        }
        case Waiting::Revoke: {
            // An unanswered revoke counts as an unanswered probe: the same road to the
            // manual queue.
            if (t->state != TxState::InDoubt || t->manual) return;
            if (t->probes >= options_.max_probes) {
                if (store_.apply_one(ToManual{id, std::to_string(t->probes) +
                                                      (t->revoking ? " revokes unanswered after an operator's \"not done\"; "
                                                                     "it stands until the agent's fence answers"
                                                                   : " probes and revokes unanswered")},
                                     now()))
                    ++counters_.manual;
                return;
            }
            if (held_for_absent_agent(*t, what)) return;
            int64_t next = now() + options_.retry.count();
            if (!store_.apply_one(ScheduleProbe{id, t->probes + 1, next}, now())) return;
            ++counters_.revokes;
            his_.revoke(*t);
            set_timer(id, next, Waiting::Revoke);
            return;
        }
        case Waiting::Dispatch:
            // Held for an absent agent: out now if it is back (advance checks a prepaid
            // booking's payment again), else held again.
            if (t->state == TxState::Held) advance(*t);
            return;
        case Waiting::Void:
            // A correction's VOIDED (with its pair's next round or mark) the store did not
            // take: stored again now, the same way (keep_followed sets the next try).
            if (t->state == TxState::Rejected && is_correction(t->intent.kind)) void_correction(*t);
            return;
        case Waiting::Refund:
            // The last ask was refused or not answered by its due time: asked again, later
            // each time; never dropped (the money is the patient's). After max_probes asks
            // the operators are told too (the manual queue), and the asks go on.
            if (!awaits_provider_refund(*t)) return;
            if (t->probes >= options_.max_probes && !t->manual &&
                store_.apply_one(ToManual{id, std::to_string(t->probes) +
                                                  " refund asks refused or unanswered by the provider; asked again every " +
                                                  std::to_string(refund_delay(t->probes + 1)) + " ms"},
                                 now()))
                ++counters_.refunds_stuck;
            ask_refund(*t, t->probes + 1);
            return;
    }
}

bool Confirmer::held_for_absent_agent(const Transaction& t, Waiting what) {
    const auto since = his_.away_since(t);
    if (!since) return false;
    const std::string& id = t.intent.id;
    int64_t gave_up_at = *since + options_.offline_patience.count();
    if (t.revoking && now() >= gave_up_at) {
        // An operator's "not done" after the agent left starts the patience again: it is
        // waiting for that revoke now (one read of the history, on this rare path only).
        if (auto h = store_.history(id))
            for (const auto& e : *h)
                if (e.event == "operator_revoke") gave_up_at = std::max(gave_up_at, e.at_ms + options_.offline_patience.count());
    }
    const std::string offline = agent_offline_words(t, *since);
    if (now() >= gave_up_at) {
        // Evidence still settles it from the queue (a late reply); the operator is told why
        // nothing could be asked.
        const std::string reason = offline + past_patience_words() + "; " + std::to_string(t.probes) +
                                   (t.revoking ? " revokes after an operator's \"not done\"" : " probes") + " were sent before";
        if (store_.apply_one(ToManual{id, reason}, now())) {
            ++counters_.manual;
            ++counters_.manual_away;
        } else {
            set_timer(id, now() + options_.retry.count(), what);  // not stored: never left without a timer
        }
        return true;
    }
    // Stored before anything else, like a probe: a restart waits for it at its time and
    // sends nothing twice. The count is unchanged: this attempt takes no probe slot (nor a
    // re-ask: the same slot is a re-ask again when it goes).
    const int64_t next = std::min(now() + options_.probe_cap.count(), gave_up_at);
    if (store_.apply_one(ScheduleProbe{id, t.probes, next, 0, offline}, now())) ++counters_.deferred_away;
    hold_for_agent(t, next, what);  // stored or not, nothing was sent: tried again when due
    return true;
}

std::string Confirmer::agent_offline_words(const Transaction& t, int64_t since_ms) const {
    return "hospital " + t.intent.hospital_id + "'s agent offline since " + iso_utc_ms(since_ms);
}

std::string Confirmer::past_patience_words() const {
    return ", longer than ledger.offline_patience (" + std::to_string(options_.offline_patience.count() / 1000) + " s)";
}

void Confirmer::hold_for_agent(const Transaction& t, int64_t due_ms, Waiting what) {
    set_timer(t.intent.id, due_ms, what);
    held_for_agent_[t.intent.id] = t.intent.hospital_id;
}

bool Confirmer::dispatch_held_for_absent_agent(const Transaction& t) {
    const auto since = his_.away_since(t);
    if (!since) return false;
    const std::string& id = t.intent.id;
    const std::string offline = agent_offline_words(t, *since);
    // A correction is owed (the HIS committed what it corrects): it waits however long the
    // agent is away. A new payment or booking has a patient waiting: past the patience it is
    // refused, which is certain, since nothing of it ever left (HELD is stored before any send).
    const bool owed = is_correction(t.intent.kind);
    const int64_t gave_up_at = *since + options_.offline_patience.count();
    if (!owed && now() >= gave_up_at) {
        auto rejected = move(id, TxState::Held, TxState::Rejected, "never sent: " + offline + past_patience_words());
        if (!rejected) {  // not stored (the disk, or it moved meanwhile): looked at again later
            hold_for_agent(t, now() + options_.retry.count(), Waiting::Dispatch);
            return true;
        }
        ++counters_.never_sent_away;
        advance(*rejected);  // the money goes back (a refund), a slot is released
        return true;
    }
    ++counters_.dispatch_held_away;
    const int64_t next = owed ? now() + options_.probe_cap.count() : std::min(now() + options_.probe_cap.count(), gave_up_at);
    hold_for_agent(t, next, Waiting::Dispatch);
    return true;
}

int Confirmer::reask_number(const Transaction& t, int slot) const {
    if (!is_correction(t.intent.kind) || options_.reask_every <= 0 || slot % options_.reask_every != 0) return 0;
    const int n = slot / options_.reask_every;
    return n <= options_.max_reasks ? n : 0;
}

void Confirmer::void_correction(const Transaction& t) {
    const std::string& id = t.intent.id;
    Move voided{id, TxState::Voided, "nothing corrected; the original stands", "confirmer", TxState::Rejected};
    std::optional<Transaction> payment, booking;
    if (t.intent.kind == TxKind::Refund) payment = load(t.intent.corrects);
    if (payment && payment->state == TxState::Posted && !payment->intent.binds.empty()) booking = load(payment->intent.binds);
    bool released = booking && booking->state == TxState::Voided;
    if (booking && booking->state == TxState::Posted)
        if (auto fixes = store_.corrections_of(booking->intent.id))
            for (const auto& c : *fixes) released = released || (c.intent.kind == TxKind::Cancel && c.state == TxState::Posted);
    if (!released) {
        if (!move(id, TxState::Rejected, TxState::Voided, voided.evidence)) keep_followed(id);
        return;
    }
    // A prepaid pair's refund that did not happen while its booking is released: the
    // payment would stand with the hospital for a booking nobody holds. Never left
    // silently: the next round (a new correction, its own id and request id: the VOIDED
    // one corrected nothing) is stored with this VOIDED in one commit, due later; after the
    // last round the operators are told (the mark on this VOIDED refund, in the same commit).
    const std::string& booking_id = booking->intent.id;
    const int round = prepaid_refund_round(booking_id, id, options_.max_prepaid_refund_rounds);
    const std::string unbound = "prepaid booking " + booking_id + " released but the refund of its payment " +
                                payment->intent.id + " did not happen (" +
                                (round > 0 ? "round " + std::to_string(round) + " of " + std::to_string(options_.max_prepaid_refund_rounds)
                                           : std::string("not the pair's own refund")) +
                                "): the hospital holds the payment; ask the hospital to refund it, or refund it again";
    TransactionIntent next = t.intent;
    const bool again = round > 0 && round < options_.max_prepaid_refund_rounds;
    std::vector<Command> commands;
    if (again) {
        next.id = prepaid_refund_id(booking_id, round + 1);
        next.deadline_ms = now() + refund_delay(round);  // not before: retry, doubling
        commands = {voided, Create{next}};
    } else {
        commands = {ToManual{id, unbound}, voided};  // marked while REJECTED: a VOIDED row never changes
    }
    auto done = store_.apply(commands, now());
    if (!done) return keep_followed(id);  // nothing stored: still REJECTED, voided again when due
    if (!again) {
        if ((*done)[0] && (*done)[1]) ++counters_.prepaid_refunds_unbound;
        else ++counters_.refused_answers;
        if (!(*done)[1]) keep_followed(id);
        return;
    }
    if (!(*done)[0]) {
        ++counters_.refused_answers;
        return keep_followed(id);
    }
    if ((*done)[1]) {
        ++counters_.prepaid_refunds_again;
        if ((*done)[1]->state == TxState::Created && !has_timer(next.id)) set_timer(next.id, next.deadline_ms, Waiting::Deadline);
        return;
    }
    // Refused: another refund of the payment stands (the patient's own, ledger.already_corrected),
    // which settles the pair; anything else leaves it for the operators.
    // (A refusal of another kind cannot mark the VOIDED one now; it is counted.)
    if ((*done)[1].error().code != "ledger.already_corrected") ++counters_.refused_answers;
}

void Confirmer::keep_followed(const std::string& id) {
    // The invariant (confirmer.h): a transaction left open has a timer here or is in the
    // manual queue. Checked where a step may end without storing its move (the store
    // refused or failed the write): one read, only on that path.
    if (has_timer(id)) return;
    auto t = store_.get(id);
    if (t && *t && (is_terminal((**t).state) || ((**t).state == TxState::InDoubt && (**t).manual))) return;
    ++counters_.unstored_retries;
    set_timer(id, now() + options_.retry.count(), Waiting::Void);
}

int64_t Confirmer::refund_delay(int asks) const {
    const int64_t cap = std::max(options_.retry.count(), options_.probe_cap.count());
    int64_t delay = options_.retry.count();
    for (int i = 1; i < asks && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
}

void Confirmer::ask_refund(const Transaction& t, int asks) {
    const std::string& id = t.intent.id;
    const int64_t next = now() + refund_delay(asks);
    // The schedule is stored before the ask leaves, so a restart neither loses nor doubles
    // it; the next ask goes only when it is due (the port, too, never queues a second ask
    // for an id whose first is still queued or being sent).
    if (!store_.apply_one(ScheduleProbe{id, asks, next}, now())) {
        set_timer(id, next, Waiting::Refund);  // not stored: nothing sent; asked when due
        return;
    }
    ++counters_.refunds_asked;
    if (t.intent.kind == TxKind::Refund) provider_.refund_correction(id, t.intent.corrects, t.intent.amount_fen);
    else provider_.refund(id, t.intent.amount_fen);
    set_timer(id, next, Waiting::Refund);
}

}  // namespace hisgate::ledger
