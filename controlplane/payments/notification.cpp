#include "controlplane/payments/notification.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/digest.h"
#include "common/metrics.h"
#include "controlplane/payments/order_fields.h"

namespace hisgate::payments {

namespace {

Error refused(ErrorClass cls, const std::string& code, const std::string& message) {
    metrics::global()
        .counter("hisgate_payment_notifications_total", "Provider payment notifications checked, by outcome and reason",
                 {{"outcome", "refused"}, {"reason", code}})
        .inc();
    return make_error(cls, code, "a payment notification: " + message);
}

// A header's value by name, case-insensitively; nullptr when absent.
const std::string* header(const std::map<std::string, std::string>& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return &v;
    }
    return nullptr;
}

// Compares every byte whatever the first difference, so the time taken does not tell an
// attacker how much of a forged signature was right.
bool same_bytes(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool all_of(std::string_view s, int (*pred)(int)) {
    return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::string notification_body(const PaymentNotification& n, std::string_view create_time) {
    nlohmann::json doc = {{"id", n.event_id},
                          {"create_time", create_time},
                          {"event_type", "TRANSACTION.SUCCESS"},
                          {"resource_type", "plain"},
                          {"resource",
                           {{"out_trade_no", n.out_trade_no},
                            {"transaction_id", n.transaction_id},
                            {"trade_state", n.trade_state},
                            {"success_time", n.success_time},
                            {"amount", {{"total", n.amount_fen}, {"currency", n.currency}}}}}};
    return doc.dump();
}

std::string signed_message(std::string_view timestamp, std::string_view nonce, std::string_view body) {
    std::string m;
    m.reserve(timestamp.size() + nonce.size() + body.size() + 3);
    m.append(timestamp).append("\n").append(nonce).append("\n").append(body).append("\n");
    return m;
}

std::string sign_notification(std::string_view key, std::string_view timestamp, std::string_view nonce,
                              std::string_view body) {
    return hmac_sha256_hex(key, signed_message(timestamp, nonce, body));
}

Result<PaymentNotification> verify_notification(const std::map<std::string, std::string>& headers, std::string_view body,
                                                std::string_view key, Clock::WallTime now, VerifyOptions options) {
    const auto* ts = header(headers, kTimestampHeader);
    const auto* nonce = header(headers, kNonceHeader);
    const auto* sig = header(headers, kSignatureHeader);
    for (auto [value, name] : {std::pair{ts, kTimestampHeader}, {nonce, kNonceHeader}, {sig, kSignatureHeader}})
        if (!value)
            return refused(ErrorClass::BadInput, "notification.missing_header",
                           std::string("header ") + name + " is missing; expected the provider's signature headers");
    if (ts->empty() || ts->size() > 12 || !all_of(*ts, ::isdigit))
        return refused(ErrorClass::BadInput, "notification.bad_header",
                       std::string(kTimestampHeader) + " is not 1-12 decimal digits (Unix seconds)");
    if (nonce->empty() || nonce->size() > 64 || !all_of(*nonce, ::isalnum))
        return refused(ErrorClass::BadInput, "notification.bad_header",
                       std::string(kNonceHeader) + " is not 1-64 of A-Z a-z 0-9");
    if (sig->size() != 64 || !all_of(*sig, ::isxdigit))
        return refused(ErrorClass::BadInput, "notification.bad_header",
                       std::string(kSignatureHeader) + " is not 64 hex digits (HMAC-SHA256)");
    if (body.size() > options.max_body_bytes)
        return refused(ErrorClass::BadInput, "notification.too_large",
                       "the body is " + std::to_string(body.size()) + " bytes, at most " +
                           std::to_string(options.max_body_bytes) + " expected");
    std::string lowered = *sig;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!same_bytes(lowered, sign_notification(key, *ts, *nonce, body)))
        return refused(ErrorClass::Rejected, "notification.bad_signature",
                       "the signature does not match the body under the merchant key");
    int64_t signed_at = std::stoll(*ts);
    int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (std::llabs(now_s - signed_at) > options.max_skew.count())
        return refused(ErrorClass::Rejected, "notification.stale",
                       "signed " + std::to_string(now_s - signed_at) + " s from now; at most " +
                           std::to_string(options.max_skew.count()) + " s either way is accepted");

    auto doc = parse_bounded_json(body, {"a payment notification", options.max_body_bytes, "notification"});
    if (!doc) return refused(ErrorClass::BadInput, doc.error().code, doc.error().message);
    auto bad = [](const std::string& field, const std::string& expected) {
        return refused(ErrorClass::BadInput, "notification.bad_field", field + ": expected " + expected);
    };
    if (!doc->is_object()) return bad("the body", "a JSON object");
    const auto& d = *doc;
    if (!d.contains("resource") || !d["resource"].is_object()) return bad("resource", "an object");
    const auto& r = d["resource"];
    PaymentNotification n;
    auto text = [&](const nlohmann::json& o, const char* name, std::string& out, size_t max) -> bool {
        if (!o.contains(name) || !o[name].is_string()) return false;
        out = o[name].get<std::string>();
        return !out.empty() && out.size() <= max;
    };
    if (!text(d, "id", n.event_id, 64)) return bad("id", "a string of 1-64 bytes");
    if (!text(r, "out_trade_no", n.out_trade_no, kMaxTradeNoBytes) || !is_trade_no(n.out_trade_no))
        return bad("resource.out_trade_no", "1-64 of A-Z a-z 0-9 _ -");
    if (!text(r, "transaction_id", n.transaction_id, 64)) return bad("resource.transaction_id", "a string of 1-64 bytes");
    if (!text(r, "trade_state", n.trade_state, 32)) return bad("resource.trade_state", "a string of 1-32 bytes");
    if (!text(r, "success_time", n.success_time, 64)) return bad("resource.success_time", "a string of 1-64 bytes");
    if (!r.contains("amount") || !r["amount"].is_object()) return bad("resource.amount", "an object");
    const auto& a = r["amount"];
    if (!a.contains("total") || !a["total"].is_number_integer()) return bad("resource.amount.total", "an integer in fen");
    n.amount_fen = a["total"].get<int64_t>();
    if (auto ok = check_amount(n.amount_fen, "resource.amount.total"); !ok)
        return refused(ErrorClass::BadInput, "notification.bad_field", ok.error().message);
    if (!text(a, "currency", n.currency, 8) || n.currency != "CNY") return bad("resource.amount.currency", "\"CNY\"");
    metrics::global()
        .counter("hisgate_payment_notifications_total", "Provider payment notifications checked, by outcome and reason",
                 {{"outcome", "accepted"}, {"reason", "ok"}})
        .inc();
    return n;
}

}  // namespace hisgate::payments
