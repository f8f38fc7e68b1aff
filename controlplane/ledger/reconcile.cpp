#include "controlplane/ledger/reconcile.h"

#include <set>
#include <sstream>

#include "controlplane/ledger/money.h"

namespace hisgate::ledger {

namespace {

constexpr Finding kAllFindings[] = {Finding::Matched,           Finding::MissingAtHospital, Finding::MissingInLedger,
                                    Finding::MissingAtProvider, Finding::AmountMismatch,    Finding::StateMismatch,
                                    Finding::InDoubt,           Finding::Unsettled};

// What one party shows for one id: sums of its lines.
struct Side {
    bool seen = false;
    int64_t paid = 0, refunded = 0;
    void add(const std::string& kind, int64_t fen) {
        seen = true;
        (kind == "payment" ? paid : refunded) += fen;
    }
};

// An item with what each party lists for `id`.
ReconcileItem item_of(const std::string& id, const Side& his, const Side& provider) {
    ReconcileItem item;
    item.id = id;
    item.at_his = his.seen;
    item.at_provider = provider.seen;
    item.his_paid_fen = his.paid;
    item.his_refunded_fen = his.refunded;
    item.provider_paid_fen = provider.paid;
    item.provider_refunded_fen = provider.refunded;
    return item;
}

Result<void> check_line(const char* source, size_t index, const std::string& id, const std::string& kind, int64_t fen) {
    auto where = std::string(source) + " line " + std::to_string(index + 1);
    if (id.empty()) return make_error(ErrorClass::BadInput, "reconcile.bad_line", where + ": the order id is empty");
    if (kind != "payment" && kind != "refund")
        return make_error(ErrorClass::BadInput, "reconcile.bad_line",
                          where + ": kind \"" + kind.substr(0, 32) + "\"; expected payment or refund");
    if (fen <= 0 || fen > kMaxAmountFen)
        return make_error(ErrorClass::BadInput, "reconcile.bad_line",
                          where + ": amount " + std::to_string(fen) + " fen; expected 1 to " + std::to_string(kMaxAmountFen));
    return {};
}

std::string yuan(int64_t fen) { return format_yuan(fen); }

// Whether a party holds what a settled state says it should (the table in reconcile.h).
bool his_agrees(TxState state, int64_t amount, const Side& his) {
    const int64_t net = his.paid - his.refunded;
    switch (state) {
    case TxState::Posted: return his.seen && net == amount;
    case TxState::Refunded: return net == 0;
    case TxState::Voided: return !his.seen;
    default: return true;
    }
}
bool provider_agrees(TxState state, int64_t amount, const Side& provider) {
    switch (state) {
    case TxState::Posted: return provider.paid == amount && provider.refunded == 0;
    case TxState::Refunded: return provider.paid == amount && provider.refunded == amount;
    case TxState::Voided: return !provider.seen;
    default: return true;
    }
}

// The finding for a settled payment (POSTED, REFUNDED, VOIDED) given both sides.
void judge_finding(ReconcileItem& item, TxState state, int64_t amount, const Side& his, const Side& provider) {
    auto set = [&](Finding f, std::string detail) {
        item.finding = f;
        item.detail = std::move(detail);
    };
    int64_t his_net = his.paid - his.refunded;
    switch (state) {
    case TxState::Posted:
        if (!his.seen) return set(Finding::MissingAtHospital, "POSTED but the hospital's statement has no line for it");
        if (provider.paid == 0) return set(Finding::MissingAtProvider, "POSTED but the provider's bill shows no payment");
        if (his.paid != amount || provider.paid != amount)
            return set(Finding::AmountMismatch, "ledger " + yuan(amount) + ", hospital paid " + yuan(his.paid) +
                                                    ", provider paid " + yuan(provider.paid));
        if (his_net != amount || provider.refunded != 0)
            return set(Finding::StateMismatch, "POSTED but refunded " + yuan(his.refunded) + " at the hospital and " +
                                                   yuan(provider.refunded) + " at the provider");
        return set(Finding::Matched, "");
    case TxState::Refunded:
        if (provider.paid == 0) return set(Finding::MissingAtProvider, "REFUNDED but the provider's bill shows no payment");
        if (provider.paid != amount || (provider.refunded != 0 && provider.refunded != amount))
            return set(Finding::AmountMismatch, "ledger " + yuan(amount) + ", provider paid " + yuan(provider.paid) +
                                                    " and refunded " + yuan(provider.refunded));
        if (provider.refunded == 0)
            return set(Finding::StateMismatch, "REFUNDED but the provider's bill shows no refund");
        if (his_net != 0)
            return set(Finding::StateMismatch, "REFUNDED but the hospital's statement holds " + yuan(his_net) +
                                                   " for it (the hospital committed a payment the platform refunded)");
        return set(Finding::Matched, "");
    case TxState::Voided:
        if (provider.seen)
            return set(Finding::StateMismatch, "VOIDED but the provider's bill shows paid " + yuan(provider.paid) +
                                                   ", refunded " + yuan(provider.refunded));
        if (his.seen)
            return set(Finding::StateMismatch, "VOIDED but the hospital's statement lists it (net " + yuan(his_net) + ")");
        return set(Finding::Matched, "");
    default:
        return set(Finding::Unsettled, "");
    }
}

// A POSTED payment whose refund after POSTED is POSTED too: both parties hold the payment
// and its refund, each of the whole amount.
void judge_refunded_after_post(ReconcileItem& item, int64_t amount, const Side& his, const Side& provider,
                               const std::string& refund_id) {
    auto set = [&](Finding f, std::string detail, std::string party = "") {
        item.finding = f;
        item.detail = std::move(detail);
        item.party = std::move(party);
    };
    const std::string what = "refunded after POSTED (correction " + refund_id + ")";
    if (!his.seen) return set(Finding::MissingAtHospital, what + " but the hospital's statement has no line for it");
    if (provider.paid == 0) return set(Finding::MissingAtProvider, what + " but the provider's bill shows no payment");
    const bool his_amounts = his.paid == amount && (his.refunded == 0 || his.refunded == amount);
    const bool provider_amounts = provider.paid == amount && (provider.refunded == 0 || provider.refunded == amount);
    if (!his_amounts || !provider_amounts)
        return set(Finding::AmountMismatch,
                   what + ": ledger " + yuan(amount) + ", hospital paid " + yuan(his.paid) + " refunded " +
                       yuan(his.refunded) + ", provider paid " + yuan(provider.paid) + " refunded " + yuan(provider.refunded),
                   his_amounts ? "provider" : provider_amounts ? "hospital" : "");
    if (his.refunded == 0 || provider.refunded == 0)
        return set(Finding::StateMismatch,
                   what + " but " + (his.refunded == 0 && provider.refunded == 0 ? "neither party shows the refund"
                                     : his.refunded == 0                         ? "the hospital shows no refund"
                                                                                 : "the provider shows no refund"),
                   his.refunded == 0 && provider.refunded == 0 ? "" : his.refunded == 0 ? "hospital" : "provider");
    return set(Finding::Matched, "");
}

// judge_finding, and for a mismatch the one party that disagrees, if only one does.
void judge(ReconcileItem& item, TxState state, int64_t amount, const Side& his, const Side& provider) {
    judge_finding(item, state, amount, his, provider);
    if (item.finding != Finding::AmountMismatch && item.finding != Finding::StateMismatch) return;
    const bool his_ok = his_agrees(state, amount, his), provider_ok = provider_agrees(state, amount, provider);
    if (his_ok != provider_ok) item.party = his_ok ? "provider" : "hospital";
}

}  // namespace

std::string_view to_string(Finding f) {
    switch (f) {
    case Finding::Matched: return "matched";
    case Finding::MissingAtHospital: return "missing_at_hospital";
    case Finding::MissingInLedger: return "missing_in_ledger";
    case Finding::MissingAtProvider: return "missing_at_provider";
    case Finding::AmountMismatch: return "amount_mismatch";
    case Finding::StateMismatch: return "state_mismatch";
    case Finding::InDoubt: return "in_doubt";
    case Finding::Unsettled: return "unsettled";
    }
    return "unknown";
}

bool is_mismatch(Finding f) {
    return f == Finding::MissingAtHospital || f == Finding::MissingInLedger || f == Finding::MissingAtProvider ||
           f == Finding::AmountMismatch || f == Finding::StateMismatch;
}

int ReconcileReport::mismatches() const {
    int n = 0;
    for (const auto& [f, count] : counts)
        if (is_mismatch(f)) n += count;
    return n;
}

Result<ReconcileReport> reconcile(const std::string& date, const std::vector<Transaction>& ledger,
                                  const std::vector<HisLine>& his, const std::vector<ProviderLine>& provider) {
    std::map<std::string, Side> his_sides, provider_sides;
    for (size_t i = 0; i < his.size(); ++i) {
        if (auto ok = check_line("the hospital's statement", i, his[i].order_id, his[i].kind, his[i].amount_fen); !ok)
            return ok.error();
        his_sides[his[i].order_id].add(his[i].kind, his[i].amount_fen);
    }
    for (size_t i = 0; i < provider.size(); ++i) {
        const auto& p = provider[i];
        if (auto ok = check_line("the provider's bill", i, p.out_trade_no, p.kind, p.amount_fen); !ok) return ok.error();
        provider_sides[p.out_trade_no].add(p.kind, p.amount_fen);
    }

    ReconcileReport report;
    report.date = date;
    for (auto f : kAllFindings) report.counts[f] = 0;
    std::map<std::string, ReconcileItem> items;
    std::set<std::string> in_ledger;
    // The refund of each payment, among those passed (a VOIDED one corrected nothing).
    std::map<std::string, const Transaction*> refund_of;
    for (const auto& t : ledger)
        if (t.intent.kind == TxKind::Refund && t.state != TxState::Voided) refund_of[t.intent.corrects] = &t;
    for (const auto& t : ledger) {
        in_ledger.insert(t.intent.id);
        if (t.intent.kind == TxKind::Booking) {
            ++report.bookings;
            continue;
        }
        if (is_correction(t.intent.kind)) {
            ++report.corrections;
            continue;
        }
        const Side h = his_sides.contains(t.intent.id) ? his_sides[t.intent.id] : Side{};
        const Side p = provider_sides.contains(t.intent.id) ? provider_sides[t.intent.id] : Side{};
        ReconcileItem item = item_of(t.intent.id, h, p);
        item.ledger_state = t.state;
        item.ledger_amount_fen = t.intent.amount_fen;
        auto refund = t.state == TxState::Posted ? refund_of.find(t.intent.id) : refund_of.end();
        if (refund != refund_of.end()) {
            const Transaction& r = *refund->second;
            if (r.state == TxState::Posted) {
                judge_refunded_after_post(item, t.intent.amount_fen, h, p, r.intent.id);
            } else if (r.state == TxState::InDoubt) {
                item.finding = Finding::InDoubt;
                item.detail = "its refund " + r.intent.id + " is being confirmed with the hospital";
            } else {
                item.finding = Finding::Unsettled;
                item.detail = "its refund " + r.intent.id + " is " + std::string(to_string(r.state));
            }
        } else if (t.state == TxState::InDoubt) {
            item.finding = Finding::InDoubt;
            item.detail = "the ledger is confirming it with the hospital";
        } else {
            judge(item, t.state, t.intent.amount_fen, h, p);
        }
        items[item.id] = std::move(item);
    }
    // Whatever either party lists that the ledger does not know.
    auto unknown = [&](const std::map<std::string, Side>& sides) {
        for (const auto& [id, side] : sides) {
            if (in_ledger.contains(id) || items.contains(id)) continue;
            const Side h = his_sides.contains(id) ? his_sides[id] : Side{};
            const Side p = provider_sides.contains(id) ? provider_sides[id] : Side{};
            ReconcileItem item = item_of(id, h, p);
            item.finding = Finding::MissingInLedger;
            item.detail = std::string("listed by ") + (h.seen && p.seen ? "the hospital and the provider"
                                                       : h.seen         ? "the hospital"
                                                                        : "the provider") +
                          ", unknown to the ledger";
            items[id] = std::move(item);
        }
    };
    unknown(his_sides);
    unknown(provider_sides);
    for (auto& [id, item] : items) {
        ++report.counts[item.finding];
        report.items.push_back(std::move(item));
    }
    return report;
}

std::string ReconcileReport::to_text() const {
    std::ostringstream out;
    out << "reconciliation " << date << ": " << (clean() ? "clean" : std::to_string(mismatches()) + " mismatch(es)")
        << ", " << items.size() << " payment(s), " << bookings << " booking(s) not matched (no money)\n";
    for (auto f : kAllFindings) out << "  " << to_string(f) << ": " << counts.at(f) << "\n";
    for (const auto& item : items) {
        if (item.finding == Finding::Matched) continue;
        out << to_string(item.finding) << " " << item.id << " ledger="
            << (item.ledger_state ? std::string(to_string(*item.ledger_state)) : std::string("-"));
        if (item.ledger_state) out << " " << format_yuan(item.ledger_amount_fen);
        out << " hospital=" << (item.at_his ? format_yuan(item.his_paid_fen) + "/-" + format_yuan(item.his_refunded_fen) : "-")
            << " provider="
            << (item.at_provider ? format_yuan(item.provider_paid_fen) + "/-" + format_yuan(item.provider_refunded_fen) : "-");
        if (!item.detail.empty()) out << ": " << item.detail;
        out << "\n";
    }
    return out.str();
}

nlohmann::json ReconcileReport::to_json() const {
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [f, n] : counts) c[std::string(to_string(f))] = n;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& item : items) {
        list.push_back({{"id", item.id},
                        {"finding", to_string(item.finding)},
                        {"ledgerState", item.ledger_state ? nlohmann::json(to_string(*item.ledger_state)) : nlohmann::json()},
                        {"ledgerAmountFen", item.ledger_amount_fen},
                        {"his", {{"seen", item.at_his}, {"paidFen", item.his_paid_fen}, {"refundedFen", item.his_refunded_fen}}},
                        {"provider",
                         {{"seen", item.at_provider},
                          {"paidFen", item.provider_paid_fen},
                          {"refundedFen", item.provider_refunded_fen}}},
                        {"detail", item.detail}});
    }
    return {{"date", date},         {"clean", clean()},   {"mismatches", mismatches()}, {"counts", c},
            {"bookings", bookings}, {"corrections", corrections}, {"items", list}};
}

}  // namespace hisgate::ledger
