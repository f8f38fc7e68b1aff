// The provider's daily bill (docs/pay-sim.md, "Bill"): every payment and refund the
// provider executed on one day, as CSV. pay-sim writes it with bill_csv; the control plane
// reads it with parse_bill_csv before reconciliation (controlplane/ledger/reconcile.h).
//
//   out_trade_no,kind,amount_fen,time,out_refund_no
//   3f2a...,payment,1250,2026-01-05T08:00:01.000Z,
//   3f2a...,refund,1250,2026-01-05T08:03:10.000Z,3f2a...
//
// The first line is exactly that header; then one line per payment or refund, no quoting
// (no field may hold a comma, a quote or a line break), "\n" or "\r\n" line ends, and a
// final empty line allowed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "controlplane/ledger/reconcile.h"

namespace hisgate::payments {

inline constexpr const char* kBillHeader = "out_trade_no,kind,amount_fen,time,out_refund_no";

struct BillLimits {
    std::size_t max_bytes = 64u << 20;  // a day's bill
    std::size_t max_lines = 1'000'000;
};

std::string bill_csv(const std::vector<ledger::ProviderLine>& lines);

// BadInput "bill.too_large", "bill.bad_header", "bill.bad_line" naming the line number, the
// column and what was expected.
Result<std::vector<ledger::ProviderLine>> parse_bill_csv(std::string_view text, BillLimits limits = {});

}  // namespace hisgate::payments
