#include "controlplane/ledger/ledger_store.h"

#include <array>

#include "controlplane/ledger/money.h"
#include "controlplane/ledger/partition_map.h"

namespace hisgate::ledger {

namespace {
constexpr std::array<std::string_view, 9> kStateNames = {"CREATED",   "HELD",   "DISPATCHED", "IN_DOUBT", "CONFIRMED",
                                                         "POSTED",    "REJECTED", "VOIDED",   "REFUNDED"};
}

std::string_view to_string(TxState s) { return kStateNames[static_cast<size_t>(s)]; }
std::string_view to_string(TxKind k) {
    switch (k) {
        case TxKind::Payment: return "payment";
        case TxKind::Booking: return "booking";
        case TxKind::Refund: return "refund";
        case TxKind::Cancel: return "cancel";
    }
    return "payment";
}

bool is_correction(TxKind k) { return k == TxKind::Refund || k == TxKind::Cancel; }

bool awaits_provider_refund(const Transaction& t) {
    return (t.state == TxState::Confirmed && t.intent.kind == TxKind::Refund) ||
           (t.state == TxState::Rejected && t.funds_held);
}

std::optional<TxState> state_from_string(std::string_view s) {
    for (size_t i = 0; i < kStateNames.size(); ++i) {
        std::string_view name = kStateNames[i];
        bool same = name.size() == s.size();
        for (size_t j = 0; same && j < s.size(); ++j) same = name[j] == (s[j] >= 'a' && s[j] <= 'z' ? s[j] - 32 : s[j]);
        if (same) return static_cast<TxState>(i);
    }
    return std::nullopt;
}

std::optional<TxKind> kind_from_string(std::string_view s) {
    if (s == "payment") return TxKind::Payment;
    if (s == "booking") return TxKind::Booking;
    if (s == "refund") return TxKind::Refund;
    if (s == "cancel") return TxKind::Cancel;
    return std::nullopt;
}

bool is_terminal(TxState s) { return s == TxState::Posted || s == TxState::Voided || s == TxState::Refunded; }

bool transition_allowed(TxState from, TxState to) {
    using S = TxState;
    switch (from) {
        case S::Created: return to == S::Held || to == S::Rejected;
        case S::Held: return to == S::Dispatched || to == S::Rejected;
        case S::Dispatched: return to == S::Confirmed || to == S::Rejected || to == S::InDoubt;
        case S::InDoubt: return to == S::Confirmed || to == S::Rejected;
        case S::Confirmed: return to == S::Posted;
        case S::Rejected: return to == S::Voided || to == S::Refunded;
        case S::Posted:
        case S::Voided:
        case S::Refunded: return false;
    }
    return false;
}

std::vector<TxState> allowed_from(TxState from) {
    std::vector<TxState> out;
    for (size_t i = 0; i < kStateNames.size(); ++i)
        if (transition_allowed(from, static_cast<TxState>(i))) out.push_back(static_cast<TxState>(i));
    return out;
}

Result<Transaction> LedgerStore::apply_one(const Command& command, int64_t now_ms) {
    auto outcomes = apply({command}, now_ms);
    if (!outcomes) return outcomes.error();
    return std::move(outcomes.value().front());
}

Result<void> check_intent(const TransactionIntent& intent) {
    if (auto r = check_transaction_id(intent.id); !r) return r;
    // A booking's amount is its slot's fee, which may be nothing; a payment is never of nothing.
    const bool free_booking = intent.kind == TxKind::Booking && intent.amount_fen == 0;
    if (!free_booking)
        if (auto r = check_amount_fen(intent.amount_fen); !r) return r;
    if (auto r = check_currency(intent.currency); !r) return r;
    if (auto r = check_patient_id(intent.patient_id); !r) return r;
    if (intent.hospital_id.empty() || intent.hospital_id.size() > 64)
        return make_error(ErrorClass::BadInput, "ledger.bad_hospital_id",
                          "hospitalId: " + std::to_string(intent.hospital_id.size()) + " characters; expected 1 to 64");
    if (intent.purpose.size() > 128)
        return make_error(ErrorClass::BadInput, "ledger.bad_purpose",
                          "purpose: " + std::to_string(intent.purpose.size()) + " characters; expected at most 128");
    if (!intent.province.empty() && !known_province(intent.province))
        return make_error(ErrorClass::BadInput, "ledger.bad_province",
                          "province: \"" + intent.province + "\" is not a GB/T 2260 province code");
    if (!intent.corrects.empty())
        if (auto r = check_transaction_id(intent.corrects); !r)
            return make_error(ErrorClass::BadInput, "ledger.bad_transaction_id", "corrects: " + r.error().message);
    if (is_correction(intent.kind) && intent.corrects.empty())
        return make_error(ErrorClass::BadInput, "ledger.bad_correction",
                          std::string("corrects: missing; a ") + std::string(to_string(intent.kind)) +
                              " names the transaction it corrects");
    if (!intent.binds.empty()) {
        if (auto r = check_transaction_id(intent.binds); !r)
            return make_error(ErrorClass::BadInput, "ledger.bad_transaction_id", "binds: " + r.error().message);
        if (intent.binds == intent.id || is_correction(intent.kind))
            return make_error(ErrorClass::BadInput, "ledger.bad_binding",
                              "binds: a booking binds its payment, another transaction; a correction binds nothing");
    }
    if (is_correction(intent.kind) && intent.corrects == intent.id)
        return make_error(ErrorClass::BadInput, "ledger.bad_correction", "corrects: a correction does not correct itself");
    return {};
}

}  // namespace hisgate::ledger
