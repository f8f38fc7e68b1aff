// The provider's asynchronous payment notification (docs/pay-sim.md, "Notification"): how
// it is signed and how the control plane checks it before believing a word of it.
//
// The provider POSTs a JSON body to the order's notify_url with three headers:
//   Wechatpay-Timestamp  Unix seconds when it was signed
//   Wechatpay-Nonce      1-64 of A-Z a-z 0-9, fresh for every attempt
//   Wechatpay-Signature  HMAC-SHA256 under the merchant key, 64 lowercase hex digits, over
//                        "<timestamp>\n<nonce>\n<body>\n" (WeChat Pay v3's message shape)
// The key is shared by the merchant and the provider and never travels: it is read from a
// file or an environment variable the operator names, never from the repository.
//
// Invariant: a notification is believed only when its signature is right under the key,
// its timestamp is within the allowed skew of our clock (a replay of an old one is
// refused), and its body is the shape below, within bounds. Every refusal is an Error
// value (what, where, expected) and is counted in
// hisgate_payment_notifications_total{outcome="refused",reason=<code>}.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::payments {

inline constexpr const char* kTimestampHeader = "Wechatpay-Timestamp";
inline constexpr const char* kNonceHeader = "Wechatpay-Nonce";
inline constexpr const char* kSignatureHeader = "Wechatpay-Signature";

// What a notification says about one order.
struct PaymentNotification {
    std::string event_id;        // the provider's id of this notification (duplicates share it)
    std::string out_trade_no;    // the platform's transaction id
    std::string transaction_id;  // the provider's own id of the payment
    std::string trade_state;     // "SUCCESS"
    int64_t amount_fen = 0;
    std::string currency = "CNY";
    std::string success_time;    // ISO 8601 UTC
};

// The body as the provider sends it:
// {"id", "create_time", "event_type": "TRANSACTION.SUCCESS", "resource_type": "plain",
//  "resource": {"out_trade_no", "transaction_id", "trade_state", "success_time",
//               "amount": {"total", "currency"}}}
std::string notification_body(const PaymentNotification& n, std::string_view create_time);

// "<timestamp>\n<nonce>\n<body>\n", the bytes the signature covers.
std::string signed_message(std::string_view timestamp, std::string_view nonce, std::string_view body);
// The Wechatpay-Signature value for these parts under `key`.
std::string sign_notification(std::string_view key, std::string_view timestamp, std::string_view nonce,
                              std::string_view body);

struct VerifyOptions {
    std::chrono::seconds max_skew{300};  // |our clock - its timestamp| allowed
    std::size_t max_body_bytes = 16 * 1024;
};

// Header names are matched without regard to case (HTTP's rule). Errors:
//   BadInput notification.missing_header / bad_header / too_large / invalid / bad_field
//   Rejected notification.bad_signature (a wrong key, or the body changed on the way)
//   Rejected notification.stale (timestamp outside max_skew of `now`)
// The body is parsed only after the signature is right. trade_state is returned as sent:
// the caller acts only on "SUCCESS" (the Confirmer's on_payment_notification also checks
// the amount against the ledger's). Duplicates share event_id.
Result<PaymentNotification> verify_notification(const std::map<std::string, std::string>& headers, std::string_view body,
                                                std::string_view key, Clock::WallTime now, VerifyOptions options = {});

}  // namespace hisgate::payments
