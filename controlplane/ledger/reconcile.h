// Three-way reconciliation (docs/ledger.md, "Reconciliation"): the ledger's transactions of
// a day against the hospital's daily statement and the payment provider's daily bill. Pure
// logic: no file, no network, no clock; the caller fetches the three inputs.
//
// What each ledger state must look like at the other two parties (payments; bookings move
// no money and are counted, not matched):
//   POSTED    the HIS holds the payment (its lines net to the amount) and the provider was
//             paid the amount and refunded nothing;
//   REFUNDED  the HIS holds nothing (no lines, or lines netting to zero) and the provider was
//             paid the amount and refunded all of it;
//   VOIDED    neither holds anything: no line at the HIS, none at the provider;
//   IN_DOUBT  its own category: the ledger is still settling it by evidence; what the HIS
//             and the provider show is reported beside it, and it is not a mismatch;
//   any other (CREATED, HELD, DISPATCHED, CONFIRMED, REJECTED): "unsettled", not a mismatch:
//             the confirmer is still moving it.
// Corrections (a refund or cancel after POSTED) are not items of their own: their lines
// are the original's (the HIS and the provider refund the original order). A POSTED
// payment whose refund correction is among the transactions passed is judged by it:
//   refund POSTED    "refunded after POSTED": the HIS lists the payment and its refund
//                    (paid and refunded the amount), the provider paid and refunded the
//                    amount (by the correction's out_refund_no);
//   refund IN_DOUBT  the original is in_doubt (its refund is being confirmed);
//   refund otherwise unsettled, except VOIDED, which corrected nothing (judged as POSTED).
// Each settled payment gets exactly one finding, the first that applies in this order:
// missing at the hospital, missing at the provider, amount mismatch, state mismatch, matched.
// An id the HIS or the provider lists and the ledger does not is "missing in the ledger".
//
// Invariant: every ledger payment and every id in either statement appears in exactly one
// item; counts are the number of items per finding.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/ledger/ledger_store.h"

namespace hisgate::ledger {

// One line of the HIS's daily statement (adapters/his_adapter.h StatementLine, the same
// fields: the ledger library does not depend on the adapters).
struct HisLine {
    std::string order_id;
    std::string kind;  // payment, refund
    int64_t amount_fen = 0;
};

// One line of the provider's daily bill (parsed by payments::parse_bill_csv).
struct ProviderLine {
    std::string out_trade_no;
    std::string kind;  // payment, refund
    int64_t amount_fen = 0;
    std::string time;           // ISO 8601 UTC, as the bill says
    std::string out_refund_no;  // refunds only
};

enum class Finding {
    Matched,
    MissingAtHospital,
    MissingInLedger,
    MissingAtProvider,
    AmountMismatch,
    StateMismatch,
    InDoubt,
    Unsettled,
};
std::string_view to_string(Finding f);  // "matched", "missing_at_hospital", ...
// Whether a finding makes the day's reconciliation fail (exit 1, a triage error).
bool is_mismatch(Finding f);

// What the three parties show for one id.
struct ReconcileItem {
    std::string id;
    Finding finding = Finding::Matched;
    std::optional<TxState> ledger_state;  // none: missing in the ledger
    int64_t ledger_amount_fen = 0;
    bool at_his = false, at_provider = false;  // any line there
    int64_t his_paid_fen = 0, his_refunded_fen = 0;
    int64_t provider_paid_fen = 0, provider_refunded_fen = 0;
    std::string detail;  // what differs, in words
    // An amount or state mismatch: the one party whose records disagree with what the
    // ledger's state says it should hold ("hospital" or "provider"); "" when both do.
    std::string party;
};

struct ReconcileReport {
    std::string date;
    std::vector<ReconcileItem> items;  // in id order
    std::map<Finding, int> counts;     // every finding, zero included
    int bookings = 0;                  // ledger bookings of the day, not matched (no money)
    int corrections = 0;               // refunds and cancels after POSTED (judged with their original)

    int mismatches() const;
    bool clean() const { return mismatches() == 0; }
    // A readable report: a header, the counts, then one line per item that is not matched.
    std::string to_text() const;
    // {"date", "clean", "counts": {finding: n}, "bookings", "corrections", "items": [{"id", "finding",
    //  "ledgerState", "ledgerAmountFen", "his": {"seen","paidFen","refundedFen"},
    //  "provider": {...}, "detail"}]}
    nlohmann::json to_json() const;
};

// BadInput (reconcile.bad_line) for a line whose kind is neither payment nor refund or
// whose amount is not positive: the statements are checked before anything is matched.
Result<ReconcileReport> reconcile(const std::string& date, const std::vector<Transaction>& ledger,
                                  const std::vector<HisLine>& his, const std::vector<ProviderLine>& provider);

}  // namespace hisgate::ledger
