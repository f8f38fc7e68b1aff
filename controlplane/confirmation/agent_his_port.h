// ledger::HisPort over the hospital's agent (docs/ledger.md, "AgentHisPort"): the change,
// the status probe and the revoke of a transaction go to the agent of its hospital as
// payment.pay / appointment.book, payment.status / appointment.status and payment.revoke /
// appointment.revoke requests through Router::ask, on the port's own worker threads, so
// the Confirmer that calls it is never blocked.
//
// Answers go to a sink the owner supplies, never to the Confirmer: the Confirmer owns no
// thread and is not thread-safe, so the owner hands each HisAnswer to it on the thread (or
// under the lock) that drives it (HisAnswer::deliver_to).
//
// Invariants:
//  - One send_change call is one request, sent once and never again after a timeout: a
//    Timeout is no answer, and the Confirmer's reply timer turns it into IN_DOUBT (a change
//    is settled by probes and a revoke, never by sending it again). The order id is the
//    transaction id; the request id is the transaction id and its dispatch number, so a
//    copy of the same dispatch is the same task at the agent (which stores an id once).
//    The Confirmer's re-ask of a correction IN_DOUBT is such a copy: send_change again with
//    the same dispatch number, so the same request id; the router answers it from the
//    answer it holds, or sends it again with that id (Router::ask), and the agent answers a
//    task it has from its record (a retried refund or cancel asks the HIS first).
//  - Only an answer that says something becomes one: a change the hospital refused
//    (Rejected, "order.revoked" included) is committed=false, with the refusal's code (an
//    appointment rule's, for the patient's screen; ledger/refusal.h); timeouts, an offline or
//    unknown hospital, transport errors and anything unclear give no answer (the
//    Confirmer's timers probe or retry).
//  - An offline agent (AgentHisPortOptions::agent_offline_since) is told to the Confirmer
//    before it sends (away_since): the router would fail a request to it at once
//    ("hospital.offline"), so the Confirmer holds the attempt and does not count it.
//  - Probes and revokes carry fresh request ids: each one asks the HIS anew (a stored
//    answer of an earlier probe is no evidence of what the HIS holds now).
//  - A correction after POSTED (kind refund / cancel) is payment.refund / appointment.cancel
//    of the order it corrects (intent.corrects), with the correction's own request id, and
//    is probed by that order's status: refunded / cancelled is Committed, still paid /
//    booked is NotFound (not yet: no evidence), anything else no answer. It is never revoked.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/ledger/confirmer.h"
#include "controlplane/router.h"

namespace hisgate::controlplane {

// One answer from the hospital, for the Confirmer.
struct HisAnswer {
    enum class Kind { ChangeReply, ProbeAnswer, RevokeAnswer };
    Kind kind = Kind::ChangeReply;
    std::string id;                  // the transaction id
    bool committed = false;          // ChangeReply
    std::string refusal = {};        // ChangeReply, not committed: the code the hospital named
    ledger::HisStatus status = ledger::HisStatus::NotFound;         // ProbeAnswer
    ledger::RevokeOutcome outcome = ledger::RevokeOutcome::Revoked;  // RevokeAnswer

    // Calls the matching on_* of `target`: a ledger::Confirmer (where it is driven: its
    // thread, or under the lock that serialises it), or the control plane's
    // money::LedgerService, whose on_* take its lock themselves.
    template <typename Target>
    void deliver_to(Target& target) const {
        switch (kind) {
            case Kind::ChangeReply: target.on_change_reply(id, committed, refusal); break;
            case Kind::ProbeAnswer: target.on_probe_answer(id, status); break;
            case Kind::RevokeAnswer: target.on_revoke_answer(id, outcome); break;
        }
    }
};

// Runs on one of the port's worker threads; keep it short (queue the answer).
using HisAnswerSink = std::function<void(const HisAnswer&)>;

struct AgentHisPortOptions {
    int workers = 4;  // requests in flight at once (each waits up to its type's route timeout)
    // The payment method the hospital is told (hisgate's code; the hospital's code table
    // maps it): the patient paid the platform through its provider.
    std::string payment_method = "wechat_pay";
    // A booking's appointment.book body (the slot as the replica knows it, the patient's
    // facts: agent/booking_request.h) for a booking transaction. The ledger keeps only the
    // slot id (intent.purpose); without this, or when it fails, the booking is not sent (an
    // error is logged; the Confirmer's reply timer settles it by probe and revoke).
    std::function<Result<nlohmann::json>(const ledger::Transaction&)> booking_body;
    // The fleet registry's word on a hospital's agent: offline since when (wall ms), or
    // nullopt (online, or unknown). The port asks it in away_since(), so the Confirmer holds
    // a probe, revoke or re-ask the router would fail at once with "hospital.offline"
    // instead of counting it. Unset: never away (every attempt is sent).
    std::function<std::optional<int64_t>(const std::string& hospital_id)> agent_offline_since;
};

class AgentHisPort final : public ledger::HisPort {
public:
    AgentHisPort(Router& router, HisAnswerSink sink, AgentHisPortOptions options = {});
    ~AgentHisPort() override;  // stop()
    AgentHisPort(const AgentHisPort&) = delete;
    AgentHisPort& operator=(const AgentHisPort&) = delete;

    void send_change(const ledger::Transaction& t) override;
    void probe(const ledger::Transaction& t) override;
    void revoke(const ledger::Transaction& t) override;
    std::optional<int64_t> away_since(const ledger::Transaction& t) override;

    // Finishes the requests being asked; those not yet started are dropped (no answer:
    // the Confirmer's timers, rebuilt by resume() after a restart, settle them).
    void stop();

    // The request id of dispatch number `attempt` of transaction `id`.
    static std::string change_request_id(const std::string& id, int attempt);

private:
    void post(std::function<void()> job);
    void work();
    // One request, and its answer (if it says anything) to the sink.
    void change(const ledger::Transaction& t);
    void ask_status(const ledger::Transaction& t);
    void ask_revoke(const ledger::Transaction& t);

    Router& router_;
    HisAnswerSink sink_;
    AgentHisPortOptions options_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace hisgate::controlplane
