#include "controlplane/money/money_api.h"

#include "controlplane/money/partition_api.h"

#include <Poco/URI.h>

#include "appointment-rules/booking.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/query_params.h"
#include "common/random_id.h"
#include "common/trace.h"
#include "common/utc_time.h"
#include "controlplane/api_error.h"
#include "controlplane/idempotency_store.h"
#include "controlplane/json_body.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/money.h"
#include "controlplane/ledger/refusal.h"
#include "transport/topics.h"

namespace hisgate::controlplane::money {

using ledger::TxKind;
using ledger::TxState;

namespace {
constexpr size_t kMaxNotifyBody = 64 * 1024;
constexpr size_t kMaxRegionField = 32;   // an ID card is 18, a phone with +86 at most 14
constexpr size_t kMaxEvidence = 500;
constexpr int kDefaultListLimit = 50, kMaxListLimit = 500;
constexpr size_t kMaxQueryBytes = 512;

// How soon a caller turned away by a partition switch in progress may try again: the
// switch installs its new map within milliseconds, and a request waits up to 5 s for it
// (ledger_service.cpp, kInstallWait) before it answers ledger.switching.
constexpr int kSwitchingRetryAfterSeconds = 1;
// How soon a new payment or booking turned away because its hospital's agent is offline may
// try again (the hint controlplane/api.cpp gives its real-time requests).
constexpr int kOfflineRetryAfterSeconds = 30;

constexpr CodeStatus kMoneyCodes[] = {
    {"idempotency.in_progress", 409},
    // A second refund or cancel of what was already corrected: a conflict with the ledger's
    // state, which names the existing correction.
    {"ledger.already_corrected", 409},
    // A prepayment refunded on its own while its booking stands: the booking's cancel refunds it.
    {"prepayment.bound", 409},
    // A partition switch in progress: this control plane is briefly unavailable, not a
    // peer that failed (the Unavailable class's 502).
    {"ledger.switching", 503, kSwitchingRetryAfterSeconds},
    // The hospital's agent is offline: a new payment or booking is refused at once, nothing
    // created (issue 13 item 2), with the hint api.cpp gives for the same code.
    {"hospital.offline", 503, kOfflineRetryAfterSeconds},
};

MoneyApi::Answer failure(const Error& e) {
    nlohmann::json body = error_body(e);
    return {answer_for(e, kMoneyCodes).status, std::move(body)};
}

void send(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body) {
    if (status == 503) {
        // The hint of the answer's code (a stored answer replayed has only its body), as
        // answer_for gives it to a fresh one.
        int retry_after = kSwitchingRetryAfterSeconds;
        if (auto code = body.find("code"); code != body.end() && code->is_string())
            if (auto c = answer_for(make_error(ErrorClass::Unavailable, code->get<std::string>(), ""), kMoneyCodes);
                c.retry_after_seconds > 0)
                retry_after = c.retry_after_seconds;
        res.set("Retry-After", std::to_string(retry_after));
    }
    if (status == 201 && body.contains("transactionId"))
        res.set("Location", "/api/v1/transactions/" + body["transactionId"].get<std::string>());
    send_json(res, status, body);
}

void send_money_failure(Poco::Net::HTTPServerResponse& res, const Error& e) { send_api_error(res, e, kMoneyCodes); }

std::string iso_utc_or_empty(int64_t ms) { return ms > 0 ? iso_utc_ms(ms) : ""; }

// What a patient reads about a state, zh-CN first.
struct Words {
    const char* zh;
    const char* en;
};
Words words_of(TxState s, TxKind kind) {
    const bool booking = kind == TxKind::Booking;
    if (kind == TxKind::Refund) switch (s) {
            // HELD past its creation's call: the hospital's agent is away (nothing sent yet).
            case TxState::Held: return {"退款申请已受理，待医院恢复连接后发送", "refund accepted; sent when the hospital is reachable"};
            case TxState::Created:
            case TxState::Dispatched: return {"退款申请已发送至医院", "refund sent to the hospital"};
            case TxState::InDoubt: return {"正在与医院确认退款", "confirming with the hospital"};
            case TxState::Confirmed: return {"医院已确认退款，正在退回款项", "the hospital refunded; returning the money"};
            case TxState::Posted: return {"已退款", "refunded"};
            default: return {"医院未退款，款项未退回", "the hospital did not refund; nothing was returned"};
        }
    if (kind == TxKind::Cancel) switch (s) {
            case TxState::Held: return {"取消申请已受理，待医院恢复连接后发送", "cancellation accepted; sent when the hospital is reachable"};
            case TxState::Created:
            case TxState::Dispatched: return {"取消申请已发送至医院", "cancellation sent to the hospital"};
            case TxState::InDoubt: return {"正在与医院确认取消", "confirming with the hospital"};
            case TxState::Confirmed:
            case TxState::Posted: return {"预约已取消", "booking cancelled"};
            default: return {"医院未取消预约", "the hospital did not cancel the booking"};
        }
    switch (s) {
        case TxState::Created: return {"等待支付", "waiting for payment"};
        case TxState::Held: return booking ? Words{"号源已锁定，正在预约", "slot held, booking with the hospital"}
                                           : Words{"已支付，正在通知医院", "paid, sending to the hospital"};
        case TxState::Dispatched: return {"已发送至医院", "sent to the hospital"};
        case TxState::InDoubt: return {"正在与医院确认", "confirming with the hospital"};
        case TxState::Confirmed: return {"医院已确认", "confirmed by the hospital"};
        case TxState::Posted: return booking ? Words{"预约成功", "booked"} : Words{"支付成功", "paid"};
        case TxState::Rejected: return {"未完成，已付款项将退回", "not completed; any money paid goes back"};
        case TxState::Voided: return booking ? Words{"已取消", "cancelled"} : Words{"已取消，未扣款", "cancelled, nothing was charged"};
        case TxState::Refunded: return {"已退款", "refunded"};
    }
    return {"", ""};
}

// The route's field as text for the idempotency digest: its JSON, or "" when absent.
std::string field_text(const nlohmann::json& body, const std::string& name) {
    auto it = body.find(name);
    return it == body.end() ? "" : it->dump();
}

// A string field: Error naming it when present but not a string, or too long.
Result<std::string> string_field(const nlohmann::json& body, const std::string& name, bool required, size_t max) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        if (required)
            return make_error(ErrorClass::BadInput, "request.missing_field", name + ": missing; expected a string");
        return std::string();
    }
    if (!it->is_string())
        return make_error(ErrorClass::BadInput, "request.bad_field",
                          name + ": a " + std::string(it->type_name()) + "; expected a string");
    auto s = it->get<std::string>();
    if ((required && s.empty()) || s.size() > max)
        return make_error(ErrorClass::BadInput, "request.bad_field",
                          name + ": " + std::to_string(s.size()) + " characters; expected " + (required ? "1" : "0") +
                              " to " + std::to_string(max));
    return s;
}

// `amount`: a decimal string in yuan, in fen (ledger::parse_yuan's rules).
Result<int64_t> amount_field(const nlohmann::json& body) {
    auto amount = body.find("amount");
    if (amount == body.end() || !amount->is_string())
        return make_error(ErrorClass::BadInput, "ledger.bad_amount",
                          "amount: expected a decimal string in yuan, e.g. \"12.50\"");
    return ledger::parse_yuan(amount->get<std::string>());
}

Result<ledger::PatientRegion> region_of(const nlohmann::json& body, const std::string& hospital_province) {
    auto id_card = string_field(body, "idCard", false, kMaxRegionField);
    if (!id_card) return id_card.error();
    auto phone = string_field(body, "phone", false, kMaxRegionField);
    if (!phone) return phone.error();
    return ledger::PatientRegion{*id_card, *phone, hospital_province};
}

bool is_staff(auth::Role r) { return r != auth::Role::Patient; }
bool may_change(auth::Role r) { return r != auth::Role::Viewer; }
bool may_resolve(auth::Role r) { return r == auth::Role::Operator || r == auth::Role::Admin; }

Error forbidden(const std::string& why) { return make_error(ErrorClass::Rejected, "auth.forbidden", why); }
}  // namespace

nlohmann::json transaction_json(const Located& located) {
    const auto& t = located.transaction;
    auto words = words_of(t.state, t.intent.kind);
    nlohmann::json out = {{"transactionId", t.intent.id},
                          {"kind", std::string(ledger::to_string(t.intent.kind))},
                          {"state", std::string(ledger::to_string(t.state))},
                          {"status", {{"zh", words.zh}, {"en", words.en}}},
                          {"hospitalId", t.intent.hospital_id},
                          {"patientId", t.intent.patient_id},
                          {"amount", ledger::format_yuan(t.intent.amount_fen)},
                          {"currency", t.intent.currency},
                          {"purpose", t.intent.purpose},
                          {"partition", located.partition},
                          {"epoch", t.intent.epoch},
                          {"createdAt", iso_utc_or_empty(t.created_ms)},
                          {"updatedAt", iso_utc_or_empty(t.updated_ms)}};
    if (t.intent.kind == TxKind::Booking) out["slotId"] = t.intent.purpose;
    if (!t.intent.corrects.empty()) out["corrects"] = t.intent.corrects;
    if (!t.intent.binds.empty()) out["binds"] = t.intent.binds;
    // In doubt: the status probes sent; a refund awaiting the provider: the refund asks
    // (ledger_store.h). `manual`: in the operators' queue.
    if (t.state == TxState::InDoubt || ledger::awaits_provider_refund(t)) {
        out["probes"] = t.probes;
        out["manual"] = t.manual;
        // An operator found it not done: it settles once the agent has revoked its request.
        if (t.revoking) out["revoking"] = true;
        if (t.next_probe_ms > 0) out["nextProbeAt"] = iso_utc_or_empty(t.next_probe_ms);
    } else if (t.manual) {
        out["manual"] = true;  // a prepaid booking's refund that did not happen (VOIDED)
    }
    return out;
}

const std::vector<RouteTemplate>& MoneyApi::routes() {
    static const std::vector<RouteTemplate> table = [] {
        std::vector<RouteTemplate> t = {
            {"payment_create", "/api/v1/payments", "POST"},
            {"booking_create", "/api/v1/bookings", "POST"},
            {"booking_cancel", "/api/v1/bookings/{bookingId}/cancel", "POST"},
            {"payment_refund", "/api/v1/payments/{paymentId}/refund", "POST"},
            {"transactions", "/api/v1/transactions", "GET, HEAD"},
            {"transaction", "/api/v1/transactions/{transactionId}", "GET, HEAD"},
            {"ledger_list", "/api/v1/ledger/transactions", "GET, HEAD"},
            {"ledger_reconcile", "/api/v1/ledger/reconcile", "POST"},
            {"ledger_resolve", "/api/v1/ledger/transactions/{transactionId}/resolve", "POST"},
        };
        for (const auto& p : partition_routes()) t.push_back(p);  // partition_api.h
        return t;
    }();
    return table;
}

std::optional<MoneyApi::Route> MoneyApi::route_of(const std::vector<std::string>& parts) {
    return match_route(routes(), parts);
}

void MoneyApi::handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                      Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (partition_route_of(parts)) return handle_partition_route(route, who, ledgers_, req, res);
    if (route == "payment_create" || route == "booking_create" || route == "booking_cancel" ||
        route == "payment_refund") {
        if (!may_change(who.role)) return send_money_failure(res, forbidden("a viewer token changes nothing"));
    }
    if (route == "payment_create")
        return keyed(who, "POST /api/v1/payments",
                     {"hospitalId", "patientId", "amount", "currency", "purpose", "idCard", "phone"}, false, req, res,
                     [&](const std::string& id, const nlohmann::json& body) { return create_payment(who, id, body); });
    if (route == "booking_create")
        return keyed(who, "POST /api/v1/bookings", {"hospitalId", "slotId", "patientId", "idCard", "phone", "prepay"}, false, req,
                     res, [&](const std::string& id, const nlohmann::json& body) { return create_booking(who, id, body); });
    if (route == "booking_cancel" || route == "payment_refund") {
        const auto kind = route == "booking_cancel" ? TxKind::Booking : TxKind::Payment;
        const std::string path = "POST /api/v1/" + parts[2] + "/" + parts[3] + "/" + parts[4];
        // The key stands for the correction this request may create (a POSTED one's refund
        // or cancel): a retry after a lost answer creates the same correction id once.
        return keyed(who, path, {"amount", "reason"}, true, req, res,
                     [&, kind](const std::string& correction_id, const nlohmann::json& body) {
                         return cancel(who, parts[3], correction_id, kind, body);
                     });
    }
    if (route == "transaction") return get_transaction(who, parts[3], res);
    if (route == "transactions") return list_patient(who, req, res);
    if (route == "ledger_list") {
        if (!is_staff(who.role)) return send_money_failure(res, forbidden("the ledgers are for operators and services"));
        return list_state(req, res);
    }
    if (route == "ledger_reconcile") {
        if (!is_staff(who.role) || !may_change(who.role))
            return send_money_failure(res, forbidden("reconciliation is run by operators, admins and services"));
        auto query = read_query(Poco::URI(req.getURI()).getRawQuery(), "reconcile.bad_query", kMaxQueryBytes,
                                {"date", "partition"});
        if (!query) return send_money_failure(res, query.error());
        if (!query->contains("date"))
            return send_money_failure(res, bad_query("reconcile.bad_query", "date", "the day as YYYY-MM-DD", ""));
        if (!reconcile_)
            return send_money_failure(res, make_error(ErrorClass::Config, "reconcile.not_configured",
                                                      "no payment provider is configured to reconcile against"));
        auto report = reconcile_(query->at("date"), query->contains("partition") ? query->at("partition") : "");
        if (!report) return send_money_failure(res, report.error());
        log::info("audit.reconcile", {{"who", who.subject}, {"date", query->at("date")}});
        return send_json(res, 200, *report);
    }
    if (route == "ledger_resolve") {
        if (!may_resolve(who.role)) return send_money_failure(res, forbidden("only operators and admins settle a transaction"));
        return resolve(who, parts[4], req, res);
    }
}

void MoneyApi::keyed(const auth::AccessToken& who, const std::string& route, const std::vector<std::string>& fields,
                     bool body_optional, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                     const KeyedWork& work) {
    // The key is checked before the body is read (bounded input before any work).
    if (!req.has("Idempotency-Key"))
        return send_money_failure(res, make_error(ErrorClass::BadInput, "idempotency.key_required",
                                                  "money and booking requests need an Idempotency-Key header (1 to " +
                                                      std::to_string(kMaxIdempotencyKey) +
                                                      " characters of A-Z a-z 0-9 - _ . :), one per intent"));
    const std::string key = req.get("Idempotency-Key");
    if (!valid_idempotency_key(key))
        return send_money_failure(res, make_error(ErrorClass::BadInput, "idempotency.bad_key",
                                                  "an Idempotency-Key is 1 to " + std::to_string(kMaxIdempotencyKey) +
                                                      " characters of A-Z a-z 0-9 - _ . :"));
    nlohmann::json body = nlohmann::json::object();
    if (!body_optional || req.getContentLength() != 0) {  // a cancel or refund may come without a body
        auto doc = read_json_object(req, "the request body");
        if (!doc) return send_money_failure(res, doc.error());
        body = std::move(doc.value());
    }
    KeyedRequest keyed{std::string(auth::to_string(who.role)) + ":" + who.subject, route, key, {}};
    for (const auto& f : fields) keyed.fields.emplace_back(f, field_text(body, f));
    auto claim = keys_.begin(keyed, new_id());
    static auto& replays = metrics::global().counter("hisgate_money_key_replays_total",
                                                     "Money requests answered from their Idempotency-Key's first answer");
    if (!claim) return send_money_failure(res, claim.error());
    if (claim->replay) {
        replays.inc();
        res.set("Idempotent-Replayed", "true");
        auto stored = nlohmann::json::parse(claim->body, nullptr, false);
        if (auto code = stored.is_object() ? stored.find("code") : stored.end(); code != stored.end() && code->is_string())
            note_answered_code(code->get_ref<const std::string&>());
        return send(res, claim->status, stored.is_discarded() ? nlohmann::json::object() : stored);
    }
    Answer answer = work(claim->resource_id, body);
    // A failure is the answer too (a new intent needs a new key), except the control plane's
    // own (5xx): the claim stays unfinished, and a retry after its lease runs again with the
    // same transaction id, which the ledger answers once.
    if (answer.nothing_done) {
        // Refused before anything was created (the hospital is away): the key is let go, so
        // the same intent sent again with it after Retry-After runs, rather than answering
        // "in progress" until the claim's lease ends.
        if (auto released = keys_.release(keyed); !released)
            log::error("money.key_not_released", {{"route", route}, {"error", released.error().describe()}});
    } else if (answer.status < 500) {
        if (auto stored = keys_.finish(keyed, answer.status, answer.body.dump()); !stored)
            log::error("money.key_not_stored", {{"route", route}, {"error", stored.error().describe()}});
    }
    send(res, answer.status, answer.body);
}

MoneyApi::Answer MoneyApi::create_payment(const auth::AccessToken& who, const std::string& id,
                                          const nlohmann::json& body) {
    ledger::TransactionIntent in;
    in.id = id;
    in.kind = TxKind::Payment;
    auto hospital = string_field(body, "hospitalId", true, 64);
    if (!hospital) return failure(hospital.error());
    if (!topics::valid_hospital_id(*hospital))
        return failure(make_error(ErrorClass::BadInput, "request.bad_field",
                                  "hospitalId: expected 1 to 64 characters of A-Z a-z 0-9 _ -"));
    in.hospital_id = *hospital;
    auto patient = string_field(body, "patientId", true, 64);
    if (!patient) return failure(patient.error());
    in.patient_id = *patient;
    if (who.role == auth::Role::Patient && in.patient_id != who.subject)
        return failure(forbidden("a patient token pays only for its own patient"));
    auto fen = amount_field(body);
    if (!fen) return failure(fen.error());
    in.amount_fen = *fen;
    auto currency = string_field(body, "currency", true, 8);
    if (!currency) return failure(currency.error());
    in.currency = *currency;
    auto purpose = string_field(body, "purpose", true, 128);
    if (!purpose) return failure(purpose.error());
    in.purpose = *purpose;
    if (auto checked = ledger::check_intent(in); !checked) return failure(checked.error());
    auto region = region_of(body, ledgers_.hospital_province(in.hospital_id));
    if (!region) return failure(region.error());
    if (auto away = hospital_away(in.hospital_id)) return *away;
    auto created = ledgers_.create(in, *region);
    if (!created) return failure(created.error());
    nlohmann::json out = transaction_json(*created);
    if (created->transaction.state == TxState::Created) {
        auto checkout = open_checkout_(created->transaction);
        if (!checkout) {
            // The patient cannot pay: the transaction is given up now, the provider's order
            // closed in case it was opened after all.
            if (auto cancelled = ledgers_.cancel(id); !cancelled)
                log::error("money.cancel_failed", {{"transaction_id", id}, {"error", cancelled.error().describe()}});
            return failure(make_error(ErrorClass::Unavailable, "provider.unavailable",
                                      "the payment provider did not open the order: " + checkout.error().message));
        }
        out["checkout"] = *checkout;
    }
    log::info("money.payment_created", {{"transaction_id", id}, {"partition", created->partition},
                                        {"amount_fen", in.amount_fen}, {"hospital_id", in.hospital_id}});
    return {201, std::move(out)};
}

MoneyApi::Answer MoneyApi::create_booking(const auth::AccessToken& who, const std::string& id,
                                          const nlohmann::json& body) {
    ledger::TransactionIntent in;
    in.id = id;
    in.kind = TxKind::Booking;
    auto hospital = string_field(body, "hospitalId", true, 64);
    if (!hospital) return failure(hospital.error());
    if (!topics::valid_hospital_id(*hospital))
        return failure(make_error(ErrorClass::BadInput, "request.bad_field",
                                  "hospitalId: expected 1 to 64 characters of A-Z a-z 0-9 _ -"));
    auto slot = string_field(body, "slotId", true, appointments::kMaxSlotIdBytes);
    if (!slot) return failure(slot.error());
    if (!appointments::valid_slot_id(*slot))
        return failure(make_error(ErrorClass::BadInput, "request.bad_field",
                                  std::string("slotId: expected ") + appointments::kSlotIdForm));
    in.hospital_id = *hospital;
    in.purpose = *slot;
    auto patient = string_field(body, "patientId", true, 64);
    if (!patient) return failure(patient.error());
    in.patient_id = *patient;
    if (who.role == auth::Role::Patient && in.patient_id != who.subject)
        return failure(forbidden("a patient token books only for its own patient"));
    in.amount_fen = slot_fee_ ? slot_fee_(in.hospital_id, in.purpose).value_or(0) : 0;
    if (auto checked = ledger::check_intent(in); !checked) return failure(checked.error());
    auto region = region_of(body, ledgers_.hospital_province(in.hospital_id));
    if (!region) return failure(region.error());
    if (auto away = hospital_away(in.hospital_id)) return *away;
    if (body.contains("prepay")) return create_prepaid_booking(std::move(in), body.at("prepay"), *region);
    auto created = ledgers_.create(in, *region);
    if (!created) return failure(created.error());
    log::info("money.booking_created", {{"transaction_id", id}, {"partition", created->partition},
                                        {"hospital_id", in.hospital_id}});
    return {201, transaction_json(*created)};
}

MoneyApi::Answer MoneyApi::create_prepaid_booking(ledger::TransactionIntent booking, const nlohmann::json& prepay,
                                                  const ledger::PatientRegion& region) {
    if (!prepay.is_object())
        return failure(make_error(ErrorClass::BadInput, "request.bad_field",
                                  "prepay: expected {\"amount\": \"25.00\", \"currency\": \"CNY\"}"));
    auto fen = amount_field(prepay);
    if (!fen) return failure(fen.error());
    auto currency = string_field(prepay, "currency", true, 8);
    if (!currency) return failure(currency.error());
    // The slot's fee, when the platform knows it, is what is paid: another amount is refused.
    if (booking.amount_fen != 0 && booking.amount_fen != *fen)
        return failure(make_error(ErrorClass::BadInput, "prepay.amount",
                                  "prepay.amount: " + ledger::format_yuan(*fen) + " is not the slot's fee of " +
                                      ledger::format_yuan(booking.amount_fen)));
    booking.amount_fen = *fen;
    booking.currency = *currency;
    ledger::TransactionIntent payment = booking;
    payment.id = ledger::prepaid_payment_id(booking.id);
    payment.kind = TxKind::Payment;
    payment.purpose = "registration";
    payment.binds = booking.id;
    booking.binds = payment.id;
    for (const auto* in : {&booking, &payment})
        if (auto checked = ledger::check_intent(*in); !checked) return failure(checked.error());
    auto created = ledgers_.create_prepaid(booking, payment, region);
    if (!created) return failure(created.error());
    auto paid = ledgers_.find(payment.id);
    if (!paid) return failure(paid.error());
    nlohmann::json out = transaction_json(*created);
    nlohmann::json pay = transaction_json(*paid);
    if (paid->transaction.state == TxState::Created) {
        auto checkout = open_checkout_(paid->transaction);
        if (!checkout) {
            // The patient cannot pay: the payment is given up, which releases the slot.
            if (auto cancelled = ledgers_.cancel(payment.id); !cancelled)
                log::error("money.cancel_failed", {{"transaction_id", payment.id}, {"error", cancelled.error().describe()}});
            return failure(make_error(ErrorClass::Unavailable, "provider.unavailable",
                                      "the payment provider did not open the order: " + checkout.error().message));
        }
        pay["checkout"] = *checkout;
    }
    out["payment"] = std::move(pay);
    log::info("money.prepaid_booking_created", {{"transaction_id", booking.id}, {"payment_id", payment.id},
                                                {"partition", created->partition}, {"hospital_id", booking.hospital_id}});
    return {201, std::move(out)};
}

MoneyApi::Answer MoneyApi::cancel(const auth::AccessToken& who, const std::string& id, const std::string& correction_id,
                                  TxKind kind, const nlohmann::json& body) {
    auto t = visible(who, id);
    if (!t) return failure(t.error());
    const auto& target = t->transaction;
    if (target.intent.kind != kind) {
        const std::string what = kind == TxKind::Booking ? "booking" : "payment";
        std::string is = std::string(ledger::to_string(target.intent.kind));
        if (!target.intent.corrects.empty()) is += " correcting " + target.intent.corrects;
        return failure(make_error(ErrorClass::BadInput, "transaction.wrong_kind",
                                  "transaction " + id + " is a " + is + ", not a " + what + "; " +
                                      (target.intent.kind == TxKind::Booking   ? "a booking is cancelled with POST /api/v1/bookings/{id}/cancel"
                                       : target.intent.kind == TxKind::Payment ? "a payment is refunded with POST /api/v1/payments/{id}/refund"
                                                                               : "a correction is not itself refunded or cancelled")));
    }
    if (kind == TxKind::Payment && body.contains("amount")) {
        // A refund is of the whole payment; a smaller one is a correction the hospital makes.
        auto fen = amount_field(body);
        if (!fen) return failure(fen.error());
        if (*fen > target.intent.amount_fen)
            return failure(make_error(ErrorClass::BadInput, "refund.over_paid",
                                      "amount: " + ledger::format_yuan(*fen) + " is more than the " +
                                          ledger::format_yuan(target.intent.amount_fen) + " paid"));
        if (*fen != target.intent.amount_fen)
            return failure(make_error(ErrorClass::Rejected, "refund.partial",
                                      "amount: a refund is of the whole " + ledger::format_yuan(target.intent.amount_fen) +
                                          "; a part is refunded by the hospital's own correction"));
    }
    if (kind == TxKind::Payment && target.state == TxState::Posted && !target.intent.binds.empty())
        if (auto bound = prepayment_bound(target); !bound) return failure(bound.error());
    if (target.state == TxState::Posted) {
        // A booking the hospital holds is cancelled only until its cancellation deadline
        // (the hospital's rules): after it, the cancel is refused and nothing changes.
        if (kind == TxKind::Booking && cancel_check_)
            if (auto allowed = cancel_check_(target); !allowed) {
                log::info("money.cancel_refused", {{"transaction_id", id}, {"code", allowed.error().code}});
                return failure(allowed.error());
            }
        // The hospital committed it: a correction, a new transaction carried out at the HIS
        // (ledger_service.h, correct()); the original never changes.
        auto fix = ledgers_.correct(id, kind == TxKind::Payment ? TxKind::Refund : TxKind::Cancel, correction_id);
        if (!fix) return failure(fix.error());
        log::info("money.correction_created", {{"transaction_id", correction_id}, {"corrects", id},
                                               {"kind", std::string(ledger::to_string(fix->transaction.intent.kind))},
                                               {"state", std::string(ledger::to_string(fix->transaction.state))}});
        return {201, transaction_json(*fix)};
    }
    auto done = ledgers_.cancel(id);
    if (!done) return failure(done.error());
    log::info("money.cancelled", {{"transaction_id", id}, {"state", std::string(ledger::to_string(done->transaction.state))}});
    return {200, transaction_json(*done)};
}

std::optional<MoneyApi::Answer> MoneyApi::hospital_away(const std::string& hospital_id) {
    if (!agent_offline_since_) return std::nullopt;
    auto since = agent_offline_since_(hospital_id);
    if (!since) return std::nullopt;
    static auto& refused = metrics::global().counter("hisgate_money_refused_offline_total",
                                                     "New payments and bookings refused at once: their hospital's agent offline");
    refused.inc();
    log::info("money.hospital_offline", {{"hospital_id", hospital_id}, {"offline_since", iso_utc_ms(*since)}});
    Answer a = failure(make_error(ErrorClass::Unavailable, "hospital.offline",
                                  "hospital " + hospital_id + " is offline since " + iso_utc_ms(*since) +
                                      ": nothing was created or charged; try again later"));
    a.nothing_done = true;
    return a;
}

Result<void> MoneyApi::prepayment_bound(const ledger::Transaction& payment) {
    const std::string& booking_id = payment.intent.binds;
    auto booking = ledgers_.find(booking_id);
    if (!booking) return booking.error();
    if (booking->transaction.state == TxState::Voided) return {};  // released: its payment may go back
    auto fixes = ledgers_.corrections_of(booking_id);
    if (!fixes) return fixes.error();
    for (const auto& f : *fixes)
        if (f.transaction.intent.kind == TxKind::Cancel && f.transaction.state == TxState::Posted) return {};
    return make_error(ErrorClass::Rejected, "prepayment.bound",
                      "payment " + payment.intent.id + " is the prepayment of booking " + booking_id + " (" +
                          std::string(ledger::to_string(booking->transaction.state)) +
                          "): it is refunded with the booking, by POST /api/v1/bookings/" + booking_id +
                          "/cancel, once the hospital has cancelled it");
}

Result<Located> MoneyApi::visible(const auth::AccessToken& who, const std::string& id) {
    if (auto checked = ledger::check_transaction_id(id); !checked)
        return make_error(ErrorClass::NotFound, "transaction.unknown", "no transaction with that id");
    auto t = ledgers_.find(id);
    if (!t) return t.error();
    if (who.role == auth::Role::Patient && t->transaction.intent.patient_id != who.subject)
        return make_error(ErrorClass::NotFound, "transaction.unknown", "no transaction with that id");
    return t;
}

void MoneyApi::get_transaction(const auth::AccessToken& who, const std::string& id, Poco::Net::HTTPServerResponse& res) {
    auto t = visible(who, id);
    if (!t) return send_money_failure(res, t.error());
    auto history = ledgers_.history(id);
    if (!history) return send_money_failure(res, history.error());
    auto out = transaction_json(*t);
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& e : *history) {
        lines.push_back({{"event", e.event}, {"from", e.from_state}, {"to", e.to_state}, {"at", iso_utc_or_empty(e.at_ms)},
                         {"actor", e.actor}, {"evidence", e.evidence}});
        // Refused by the hospital with a code (an appointment rule's): the patient's screen
        // says which rule and what to do from it (ledger/refusal.h).
        if (e.to_state == "REJECTED")
            if (auto code = ledger::refusal_code_of(e.evidence)) out["refusal"] = {{"code", *code}};
    }
    out["history"] = std::move(lines);
    // Its corrections (a refund or cancel after POSTED): each a transaction of its own.
    auto fixes = ledgers_.corrections_of(id);
    if (!fixes) return send_money_failure(res, fixes.error());
    if (!fixes->empty()) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& f : *fixes)
            list.push_back({{"transactionId", f.transaction.intent.id},
                            {"kind", std::string(ledger::to_string(f.transaction.intent.kind))},
                            {"state", std::string(ledger::to_string(f.transaction.state))},
                            {"location", "/api/v1/transactions/" + f.transaction.intent.id}});
        out["corrections"] = std::move(list);
    }
    send_json(res, 200, out);
}

void MoneyApi::list_patient(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& res) {
    auto query = read_query(Poco::URI(req.getURI()).getRawQuery(), "transactions.bad_query", kMaxQueryBytes, {"patientId", "limit"});
    if (!query) return send_money_failure(res, query.error());
    std::string patient = query->contains("patientId") ? query->at("patientId") : "";
    if (who.role == auth::Role::Patient) {
        if (!patient.empty() && patient != who.subject)
            return send_money_failure(res, forbidden("a patient token lists only its own transactions"));
        patient = who.subject;
    }
    if (auto checked = ledger::check_patient_id(patient); !checked) return send_money_failure(res, checked.error());
    auto limit = query_int(*query, "transactions.bad_query", "limit", 1, kMaxListLimit, kDefaultListLimit);
    if (!limit) return send_money_failure(res, limit.error());
    auto mine = ledgers_.of_patient(patient, *limit);
    if (!mine) return send_money_failure(res, mine.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *mine) list.push_back(transaction_json(t));
    send_json(res, 200, {{"transactions", list}});
}

void MoneyApi::list_state(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto query = read_query(Poco::URI(req.getURI()).getRawQuery(), "ledger.bad_query", kMaxQueryBytes, {"state", "manual", "limit"});
    if (!query) return send_money_failure(res, query.error());
    std::string state_name = query->contains("state") ? query->at("state") : "in_doubt";
    auto state = ledger::state_from_string(state_name);
    if (!state)
        return send_money_failure(res, bad_query("ledger.bad_query", "state",
                                                 "one of created, held, dispatched, in_doubt, confirmed, posted, rejected, "
                                                 "voided, refunded",
                                                 state_name.substr(0, 32)));
    const bool manual = query->contains("manual") && query->at("manual") == "true";
    if (manual && *state != TxState::InDoubt && *state != TxState::Confirmed && *state != TxState::Rejected &&
        *state != TxState::Voided)
        return send_money_failure(res, bad_query("ledger.bad_query", "manual",
                                                 "only with state=in_doubt, confirmed or rejected (refunds the provider "
                                                 "refused), or voided (a prepaid booking's refund that did not happen)",
                                                 "true"));
    auto limit = query_int(*query, "ledger.bad_query", "limit", 1, kMaxListLimit, kMaxListLimit);
    if (!limit) return send_money_failure(res, limit.error());
    auto listed = ledgers_.in_state(*state, *limit, manual);
    if (!listed) return send_money_failure(res, listed.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *listed) list.push_back(transaction_json(t));
    send_json(res, 200, {{"state", std::string(ledger::to_string(*state))}, {"manual", manual}, {"transactions", list}});
}

void MoneyApi::resolve(const auth::AccessToken& who, const std::string& id, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) {
    auto body = read_json_object(req, "the resolution");
    if (!body) return send_money_failure(res, body.error());
    auto committed = body->find("committed");
    if (committed == body->end() || !committed->is_boolean())
        return send_money_failure(res, make_error(ErrorClass::BadInput, "request.bad_field",
                                                  "committed: expected true (the hospital holds it) or false (it does not)"));
    auto evidence = string_field(*body, "evidence", true, kMaxEvidence);
    if (!evidence) return send_money_failure(res, evidence.error());
    if (auto checked = ledger::check_transaction_id(id); !checked) return send_money_failure(res, checked.error());
    auto done = ledgers_.resolve(id, committed->get<bool>(), *evidence, who.subject);
    if (!done) return send_money_failure(res, done.error());
    log::info("audit.ledger_resolve", {{"operator", who.subject}, {"role", std::string(auth::to_string(who.role))},
                                       {"transaction_id", id}, {"committed", committed->get<bool>()},
                                       {"from", req.clientAddress().host().toString()}});
    send_json(res, 200, transaction_json(*done));
}

void MoneyApi::notify(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    static auto& refused = metrics::global().counter("hisgate_provider_notices_refused_total",
                                                     "Provider notifications refused (bad signature or shape)");
    if (req.getMethod() != "POST") {
        res.set("Allow", "POST");
        return send_json(res, 405, error_body(make_error(ErrorClass::BadInput, "http.method_not_allowed",
                                                         req.getMethod() + " is not served here (allowed: POST)")));
    }
    auto body = read_body(req, kMaxNotifyBody, "the provider's notification");
    if (!body) return send_money_failure(res, body.error());
    auto notice = check_notice_ ? check_notice_(req, *body)
                                : Result<ProviderNotice>(make_error(ErrorClass::Config, "provider.not_configured",
                                                                    "no payment provider is configured"));
    if (!notice) {
        refused.inc();
        log::warn("money.notice_refused", {{"code", notice.error().code}, {"reason", notice.error().message}});
        return send_json(res, notice.error().cls == ErrorClass::Config ? 503 : 401,
                         {{"code", "FAIL"}, {"message", notice.error().message}});
    }
    if (notice->paid) ledgers_.on_payment_notification(notice->transaction_id, notice->amount_fen);
    send_json(res, 200, {{"code", "SUCCESS"}, {"message", "OK"}});
}

}  // namespace hisgate::controlplane::money
