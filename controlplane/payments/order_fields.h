// The shapes of what the provider's API names, checked the same way on both sides: by
// pay-sim when a request comes in, and by the control plane before it sends one or
// believes a notification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"

namespace hisgate::payments {

inline constexpr std::size_t kMaxTradeNoBytes = 64;       // out_trade_no, out_refund_no
inline constexpr std::size_t kMaxDescriptionBytes = 127;  // an order's description
inline constexpr std::size_t kMaxNotifyUrlBytes = 256;

// 1 to 64 of A-Z a-z 0-9 '_' '-': an out_trade_no or out_refund_no. (The ledger's ids, 16-64
// lowercase hex digits, are all of this shape.)
bool is_trade_no(std::string_view s);
// An amount in fen: 1 to ledger::kMaxAmountFen. BadInput naming `field` otherwise.
Result<void> check_amount(int64_t fen, std::string_view field);
// "http://host:port/path", at most kMaxNotifyUrlBytes: where a notification goes.
Result<void> check_notify_url(std::string_view url);

}  // namespace hisgate::payments
