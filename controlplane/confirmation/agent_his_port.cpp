#include "controlplane/confirmation/agent_his_port.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace hisgate::controlplane {

namespace {

using ledger::TxKind;

const char* change_type(const ledger::Transaction& t) {
    switch (t.intent.kind) {
        case TxKind::Booking: return "appointment.book";
        case TxKind::Refund: return "payment.refund";
        case TxKind::Cancel: return "appointment.cancel";
        case TxKind::Payment: break;
    }
    return "payment.pay";
}
bool about_booking(const ledger::Transaction& t) {
    return t.intent.kind == TxKind::Booking || t.intent.kind == TxKind::Cancel;
}
const char* status_type(const ledger::Transaction& t) { return about_booking(t) ? "appointment.status" : "payment.status"; }
bool is_correction(const ledger::Transaction& t) {
    return t.intent.kind == TxKind::Refund || t.intent.kind == TxKind::Cancel;
}
// A correction is revoked by its own request (the agent fences its request id), an order by
// the order's id.
const char* revoke_type(const ledger::Transaction& t) {
    switch (t.intent.kind) {
        case TxKind::Booking: return "appointment.revoke";
        case TxKind::Cancel: return "appointment.cancel_revoke";
        case TxKind::Refund: return "payment.refund_revoke";
        case TxKind::Payment: break;
    }
    return "payment.revoke";
}
// The HIS's order a request is about: the transaction's own id, or for a correction the
// order it corrects (the HIS refunds or cancels that order; the correction's own id is the
// request's).
const std::string& his_order(const ledger::Transaction& t) { return is_correction(t) ? t.intent.corrects : t.intent.id; }

void count(const char* request, const char* outcome) {
    metrics::global()
        .counter("hisgate_controlplane_his_port_total", "The ledger's requests to hospitals, by what came of them",
                 {{"request", request}, {"outcome", outcome}})
        .inc();
}

// What the HIS's status of an order says about the transaction; nullopt when it says
// nothing this code can take as evidence.
std::optional<ledger::HisStatus> status_of(TxKind kind, const std::string& status) {
    using ledger::HisStatus;
    // A correction is done when the order shows it; the order still paid or booked says
    // only "not yet" (the change may be on its way): NotFound, never a rejection. An order
    // the HIS does not know says nothing about a correction of it.
    if (kind == TxKind::Refund) {
        if (status == "refunded") return HisStatus::Committed;
        if (status == "paid") return HisStatus::NotFound;
        return std::nullopt;
    }
    if (kind == TxKind::Cancel) {
        if (status == "cancelled") return HisStatus::Committed;
        if (status == "booked") return HisStatus::NotFound;
        return std::nullopt;
    }
    if (status == "not_found") return HisStatus::NotFound;
    if (kind == TxKind::Payment) {
        // A refund at the HIS presupposes the payment: the change was committed.
        if (status == "paid" || status == "refunded") return HisStatus::Committed;
        return std::nullopt;
    }
    if (status == "booked") return HisStatus::Committed;
    if (status == "cancelled") return HisStatus::Revoked;  // it holds nothing, as after a revoke
    return std::nullopt;
}

}  // namespace

AgentHisPort::AgentHisPort(Router& router, HisAnswerSink sink, AgentHisPortOptions options)
    : router_(router), sink_(std::move(sink)), options_(std::move(options)) {
    int n = options_.workers > 0 ? options_.workers : 1;
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
}

AgentHisPort::~AgentHisPort() { stop(); }

void AgentHisPort::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
        if (!jobs_.empty()) log::warn("his_port.stopping", {{"dropped", jobs_.size()}});
        jobs_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

std::string AgentHisPort::change_request_id(const std::string& id, int attempt) {
    return id + "-change-" + std::to_string(attempt);
}

void AgentHisPort::post(std::function<void()> job) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void AgentHisPort::work() {
    name_this_thread("his-port");
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

// The Confirmer's Transaction is copied into the job: the caller's may be gone by then.
void AgentHisPort::send_change(const ledger::Transaction& t) { post([this, t] { change(t); }); }
void AgentHisPort::probe(const ledger::Transaction& t) { post([this, t] { ask_status(t); }); }
void AgentHisPort::revoke(const ledger::Transaction& t) { post([this, t] { ask_revoke(t); }); }

std::optional<int64_t> AgentHisPort::away_since(const ledger::Transaction& t) {
    if (!options_.agent_offline_since) return std::nullopt;
    auto since = options_.agent_offline_since(t.intent.hospital_id);
    if (since) count("attempt", "held_agent_offline");
    return since;
}

void AgentHisPort::change(const ledger::Transaction& t) {
    const std::string& id = t.intent.id;
    nlohmann::json body;
    if (t.intent.kind == TxKind::Booking) {
        auto built = options_.booking_body ? options_.booking_body(t)
                                           : Result<nlohmann::json>(make_error(ErrorClass::Config, "his_port.no_booking_body",
                                                                               "no booking body builder is configured"));
        if (!built) {
            log::error("his_port.booking_not_sent", {{"tx_id", id}, {"error", built.error().describe()}});
            count(change_type(t), "not_sent");
            return;
        }
        body = std::move(built.value());
        body["orderId"] = id;
        body["slotId"] = t.intent.purpose;
    } else if (t.intent.kind == TxKind::Cancel) {
        body = {{"orderId", his_order(t)}};
    } else {
        body = {{"orderId", his_order(t)}, {"amountCents", t.intent.amount_fen}, {"method", options_.payment_method}};
    }
    auto asked = router_.ask(t.intent.hospital_id, change_type(t), std::move(body), change_request_id(id, t.attempts));
    if (asked.answer) {
        count(change_type(t), "committed");
        sink_({HisAnswer::Kind::ChangeReply, id, true});
        return;
    }
    const Error& e = asked.answer.error();
    // order.id_reused is the router's own refusal (this request id was sent with another
    // body): it says nothing of what the hospital did.
    if (e.cls == ErrorClass::Rejected && e.code != "order.id_reused") {
        log::info("his_port.change_refused", {{"tx_id", id}, {"error", e.describe()}});
        count(change_type(t), "refused");
        HisAnswer refused{HisAnswer::Kind::ChangeReply, id, false};
        refused.refusal = e.code;
        sink_(refused);
        return;
    }
    // No answer: not asked again here (the Confirmer's reply timer makes it IN_DOUBT; a
    // correction's re-ask comes back through send_change with the same request id).
    log::warn("his_port.change_unanswered", {{"tx_id", id}, {"error", e.describe()}});
    count(change_type(t), "no_answer");
}

void AgentHisPort::ask_status(const ledger::Transaction& t) {
    const std::string& id = t.intent.id;
    // A booking's probe is asked for its patient: a "booked" answer links them to the
    // hospital's number (controlplane/patient_links.h), as the booking's own answer would have.
    RequestOrigin origin{about_booking(t) ? t.intent.patient_id : "", ""};
    auto asked = router_.ask(t.intent.hospital_id, status_type(t), {{"orderId", his_order(t)}}, "", origin);
    std::optional<ledger::HisStatus> status;
    if (asked.answer) status = status_of(t.intent.kind, asked.answer->value("status", ""));
    if (!status) {
        log::warn("his_port.status_unclear",
                  {{"tx_id", id},
                   {"answer", asked.answer ? asked.answer->value("status", "") : asked.answer.error().describe()}});
        count(status_type(t), "no_answer");
        return;
    }
    count(status_type(t), "answered");
    HisAnswer a{HisAnswer::Kind::ProbeAnswer, id};
    a.status = *status;
    sink_(a);
}

void AgentHisPort::ask_revoke(const ledger::Transaction& t) {
    const std::string& id = t.intent.id;
    // A correction (revoked only on an operator's "not done"): the agent fences the request
    // id its change went out under, and reads the original order's record at the HIS.
    nlohmann::json body = {{"orderId", his_order(t)}};
    if (is_correction(t)) body["changeId"] = change_request_id(id, t.attempts);
    auto asked = router_.ask(t.intent.hospital_id, revoke_type(t), std::move(body));
    std::string outcome = asked.answer ? asked.answer->value("outcome", "") : "";
    if (outcome != "revoked" && outcome != "already_committed") {
        log::warn("his_port.revoke_unclear",
                  {{"tx_id", id}, {"answer", asked.answer ? outcome : asked.answer.error().describe()}});
        count(revoke_type(t), "no_answer");
        return;
    }
    count(revoke_type(t), outcome.c_str());
    HisAnswer a{HisAnswer::Kind::RevokeAnswer, id};
    a.outcome = outcome == "revoked" ? ledger::RevokeOutcome::Revoked : ledger::RevokeOutcome::AlreadyCommitted;
    sink_(a);
}

}  // namespace hisgate::controlplane
