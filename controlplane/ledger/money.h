// Money and the shapes of what a ledger request names, checked before anything is stored.
//
// Amounts are integer fen (1 yuan = 100 fen) in an int64, never a floating point number:
// a portal sends a decimal string in yuan ("12.50"), parse_yuan turns it into fen exactly
// or refuses it. Every refusal is a BadInput error naming the field, what it got (never a
// patient's identifier) and what was expected, and changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::ledger {

// The largest single amount the ledger accepts: 1,000,000 yuan. A hospital payment above
// it is a typing error or an attack, not a treatment.
constexpr int64_t kMaxAmountFen = 100'000'000;

// "12.50", "12.5", "12" → 1250, 1250, 1200. Refused: empty, a sign, more than two
// decimals, anything not a digit or one '.', zero, over kMaxAmountFen.
Result<int64_t> parse_yuan(std::string_view text, std::string_view field = "amount");
// An amount already in fen: positive and at most kMaxAmountFen.
Result<void> check_amount_fen(int64_t fen, std::string_view field = "amount");
// Only CNY for now.
Result<void> check_currency(std::string_view currency);
// A hospital's patient number: 1 to 32 of A-Z a-z 0-9 '-'.
Result<void> check_patient_id(std::string_view patient_id);
// A transaction id (the hospital's order number): 16 to 64 lowercase hex digits.
Result<void> check_transaction_id(std::string_view id);
// "12.50" for 1250.
std::string format_yuan(int64_t fen);

}  // namespace hisgate::ledger
