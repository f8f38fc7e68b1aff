// The money and booking routes of the control plane's API (issue 15 item 8), on the
// ledgers (controlplane/money/ledger_service.h):
//
//   POST /api/v1/payments                   {hospitalId, patientId, amount: "12.50", currency: "CNY",
//                                            purpose[, idCard | phone]} → 201, Location, the
//                                            transaction and where the patient pays (checkout)
//   POST /api/v1/bookings                   {hospitalId, slotId, patientId[, idCard | phone]
//                                            [, prepay: {amount, currency}]} → 201; with prepay
//                                            also `payment` (its own id, bound) and its checkout
//   POST /api/v1/bookings/{id}/cancel       before it went to the hospital: the slot is released (200);
//                                            once POSTED: a correction, kind cancel (201, Location),
//                                            unless past the hospital's cancellation deadline
//                                            (422 appointment.cancellation_deadline.passed, nothing changed)
//   POST /api/v1/payments/{id}/refund       [{amount}] before it went to the hospital: the order is
//                                            closed, or what was paid goes back (200); once POSTED:
//                                            a correction, kind refund, carried out at the HIS and
//                                            then the provider (201, Location: the correction); at
//                                            most one (409 ledger.already_corrected naming it);
//                                            a prepaid booking's payment only with the booking
//                                            (409 prepayment.bound while the booking stands)
//   GET  /api/v1/transactions/{id}          state, history, and words for the patient
//                                            (IN_DOUBT: "confirming with the hospital", never failed)
//   GET  /api/v1/transactions?patientId=P   a patient's own transactions, newest first
//   GET  /api/v1/ledger/transactions?state=in_doubt[&manual=true]   staff: the operators' list (manual
//                                            also with state=confirmed or rejected: refunds the
//                                            provider kept refusing, still asked)
//   POST /api/v1/ledger/transactions/{id}/resolve {committed, evidence}  operators and admins;
//                                            recorded with the operator's name (audited)
//   POST /api/v1/ledger/reconcile?date=D[&partition=P]  operators, admins and services: the day's
//                                            three-way reconciliation (controlplane/money/reconciler.h):
//                                            200 with the report ({"clean", "counts", "items", "text"})
//   POST /api/v1/provider/notify            the payment provider's signed notification (no
//                                            token; the signature is checked)
//
// A new payment or booking for a hospital whose agent the fleet registry holds offline is
// 503 hospital.offline with Retry-After: 30, nothing created, its key released
// (set_agent_offline_since); refunds and cancels are accepted and wait HELD.
//
// Every POST but resolve and notify needs an Idempotency-Key (controlplane/money/keyed_answers.h):
// 400 idempotency.key_required without one; the same key and fields answer the first
// answer again (Idempotent-Replayed: true), 422 idempotency.mismatch with other fields,
// 409 idempotency.in_progress while the first runs.
//
// Patients see only their own transactions: another patient's id answers 404, as an id
// that does not exist does.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"
#include "common/clock.h"
#include "common/error.h"
#include "controlplane/money/keyed_answers.h"
#include "controlplane/money/ledger_service.h"

namespace hisgate::controlplane::money {

// A payment notification the provider sent, once its signature is checked.
struct ProviderNotice {
    std::string transaction_id;  // the provider's out_trade_no: our id
    int64_t amount_fen = 0;
    bool paid = false;  // a notification of anything else is acknowledged and ignored
};

// The transaction as the API shows it: fields, state, and the words a patient reads.
nlohmann::json transaction_json(const Located& located);

class MoneyApi {
public:
    // Opens the provider's order for a new payment: what the patient pays with (a checkout
    // URL, a prepay id), or why the provider refused.
    using OpenCheckout = std::function<Result<nlohmann::json>(const ledger::Transaction&)>;
    // A slot's fee in fen, when the public partition knows the slot.
    using SlotFee = std::function<std::optional<int64_t>(const std::string& hospital_id, const std::string& slot_id)>;
    // Checks a provider notification's signature and reads it (the raw body and headers).
    using CheckNotice = std::function<Result<ProviderNotice>(const Poco::Net::HTTPServerRequest&, const std::string& body)>;

    // Runs the three-way reconciliation of a day: the report's JSON with its text.
    using Reconcile = std::function<Result<nlohmann::json>(const std::string& date, const std::string& partition)>;
    void set_reconcile(Reconcile reconcile) { reconcile_ = std::move(reconcile); }
    // Whether a booking the hospital holds may still be cancelled now (its cancellation
    // deadline, booking_body.h check_cancellation): an error refuses the cancel, which
    // then changes nothing. Without one every such cancel goes on.
    using CancelCheck = std::function<Result<void>(const ledger::Transaction& booking)>;
    void set_cancel_check(CancelCheck check) { cancel_check_ = std::move(check); }
    // The fleet registry's word on a hospital's agent: offline since when (wall ms), else
    // nullopt. A new payment or booking for an offline hospital is refused at once, 503
    // hospital.offline with Retry-After, creating nothing (issue 13 item 2): the patient is
    // not charged for a change that could only wait. Corrections of what the hospital holds
    // (a refund, a cancel after POSTED) are accepted: the ledger owes them, and they wait
    // HELD, never sent, until the agent is back (docs/ledger.md, "An absent agent").
    using AgentOfflineSince = std::function<std::optional<int64_t>(const std::string& hospital_id)>;
    void set_agent_offline_since(AgentOfflineSince fn) { agent_offline_since_ = std::move(fn); }

    MoneyApi(LedgerService& ledgers, KeyedAnswers& keys, OpenCheckout open_checkout, SlotFee slot_fee,
             CheckNotice check_notice)
        : ledgers_(ledgers), keys_(keys), open_checkout_(std::move(open_checkout)), slot_fee_(std::move(slot_fee)),
          check_notice_(std::move(check_notice)) {}

    // The route name (for metrics) when `parts` (the path's segments) is one of these
    // routes, and the methods it serves.
    using Route = ApiRoute;
    static std::optional<Route> route_of(const std::vector<std::string>& parts);
    // The routes route_of matches (controlplane/api_route.h).
    static const std::vector<RouteTemplate>& routes();
    static bool is_notify(const std::string& path) { return path == "/api/v1/provider/notify"; }

    void handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    // The provider's notification: no token, its signature instead.
    void notify(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

    // What a keyed POST does once its key is claimed: the answer's status and body.
    struct Answer {
        int status = 200;
        nlohmann::json body;
        bool nothing_done = false;  // refused before anything was created: the key is released
    };

private:
    using KeyedWork = std::function<Answer(const std::string& transaction_id, const nlohmann::json& body)>;
    // Checks the Idempotency-Key, reads the body, claims the key with the fields the route
    // reads, and runs `work` once per key (a replay answers what it answered).
    void keyed(const auth::AccessToken& who, const std::string& route, const std::vector<std::string>& fields,
               bool body_optional, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
               const KeyedWork& work);
    Answer create_payment(const auth::AccessToken& who, const std::string& id, const nlohmann::json& body);
    Answer create_booking(const auth::AccessToken& who, const std::string& id, const nlohmann::json& body);
    // A booking with "prepay": the booking and its payment (docs/ledger.md, "Prepaid bookings").
    Answer create_prepaid_booking(ledger::TransactionIntent booking, const nlohmann::json& prepay,
                                  const ledger::PatientRegion& region);
    // A refund or cancel of `id`: before dispatch the existing cancel; once POSTED a new
    // correction `correction_id` (the key's id).
    Answer cancel(const auth::AccessToken& who, const std::string& id, const std::string& correction_id,
                  ledger::TxKind kind, const nlohmann::json& body);
    // A POSTED prepayment is refunded with its booking (docs/ledger.md, "Prepaid bookings"):
    // Rejected "prepayment.bound" (409) while the booking stands, i.e. is not VOIDED and has
    // no POSTED cancel; then a refund of its own would leave the booking unpaid for.
    Result<void> prepayment_bound(const ledger::Transaction& payment);
    // 503 hospital.offline (nothing_done) when the registry holds the hospital's agent offline.
    std::optional<Answer> hospital_away(const std::string& hospital_id);
    // The transaction, if `who` may see it (a patient: only their own); NotFound otherwise.
    Result<Located> visible(const auth::AccessToken& who, const std::string& id);
    void get_transaction(const auth::AccessToken& who, const std::string& id, Poco::Net::HTTPServerResponse& res);
    void list_patient(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void list_state(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void resolve(const auth::AccessToken& who, const std::string& id, Poco::Net::HTTPServerRequest& req,
                 Poco::Net::HTTPServerResponse& res);

    LedgerService& ledgers_;
    KeyedAnswers& keys_;
    OpenCheckout open_checkout_;
    SlotFee slot_fee_;
    CheckNotice check_notice_;
    Reconcile reconcile_;
    CancelCheck cancel_check_;
    AgentOfflineSince agent_offline_since_;
};

}  // namespace hisgate::controlplane::money
