// Three-way reconciliation (controlplane/ledger/reconcile.h): every finding, from hand-made
// ledger transactions, HIS statement lines and provider bill lines.
#include <catch2/catch.hpp>

#include "controlplane/ledger/reconcile.h"
#include "ledger_test_util.h"

using namespace hisgate;
using namespace hisgate::ledger;

namespace {

Transaction tx(const std::string& id, TxState state, int64_t fen = 1250, TxKind kind = TxKind::Payment) {
    Transaction t;
    t.intent = test_util::intent(id, fen);
    t.intent.kind = kind;
    t.state = state;
    return t;
}

HisLine his(const std::string& id, const std::string& kind = "payment", int64_t fen = 1250) { return {id, kind, fen}; }
ProviderLine paid(const std::string& id, int64_t fen = 1250) { return {id, "payment", fen, "2026-01-05T08:00:00.000Z", ""}; }
ProviderLine refund(const std::string& id, int64_t fen = 1250) { return {id, "refund", fen, "2026-01-05T09:00:00.000Z", id}; }

// The one item for `id`; fails the test if there is not exactly one.
const ReconcileItem& item(const ReconcileReport& r, const std::string& id) {
    const ReconcileItem* found = nullptr;
    int n = 0;
    for (const auto& i : r.items)
        if (i.id == id) found = &i, ++n;
    REQUIRE(n == 1);
    return *found;
}

Finding finding(const std::vector<Transaction>& ledger, const std::vector<HisLine>& h, const std::vector<ProviderLine>& p,
                const std::string& id) {
    auto r = reconcile("2026-01-05", ledger, h, p);
    REQUIRE(r.ok());
    return item(r.value(), id).finding;
}

}  // namespace

TEST_CASE("reconcile: each settled state matched when the hospital and the provider agree") {
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1")}, {paid("p1")}, "p1") == Finding::Matched);
    CHECK(finding({tx("r1", TxState::Refunded)}, {}, {paid("r1"), refund("r1")}, "r1") == Finding::Matched);
    // The hospital took it and gave it back the same day: it holds nothing.
    CHECK(finding({tx("r2", TxState::Refunded)}, {his("r2"), his("r2", "refund")}, {paid("r2"), refund("r2")}, "r2") ==
          Finding::Matched);
    CHECK(finding({tx("v1", TxState::Voided)}, {}, {}, "v1") == Finding::Matched);
}

TEST_CASE("reconcile: missing at the hospital, at the provider, and in the ledger") {
    CHECK(finding({tx("p1", TxState::Posted)}, {}, {paid("p1")}, "p1") == Finding::MissingAtHospital);
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1")}, {}, "p1") == Finding::MissingAtProvider);
    CHECK(finding({tx("r1", TxState::Refunded)}, {}, {}, "r1") == Finding::MissingAtProvider);
    auto r = reconcile("2026-01-05", {}, {his("h-only")}, {paid("p-only"), paid("both")});
    REQUIRE(r.ok());
    auto both = reconcile("2026-01-05", {}, {his("both")}, {paid("both")});
    REQUIRE(both.ok());
    CHECK(item(r.value(), "h-only").finding == Finding::MissingInLedger);
    CHECK(item(r.value(), "h-only").detail.find("the hospital") != std::string::npos);
    CHECK(item(r.value(), "p-only").finding == Finding::MissingInLedger);
    CHECK(item(r.value(), "p-only").detail.find("the provider") != std::string::npos);
    CHECK(item(both.value(), "both").finding == Finding::MissingInLedger);
    CHECK(item(both.value(), "both").at_his);
    CHECK(item(both.value(), "both").at_provider);
    CHECK(r->counts.at(Finding::MissingInLedger) == 3);
}

TEST_CASE("reconcile: amount mismatches, a provider that charged twice included") {
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1", "payment", 1200)}, {paid("p1")}, "p1") == Finding::AmountMismatch);
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1")}, {paid("p1", 1300)}, "p1") == Finding::AmountMismatch);
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1")}, {paid("p1"), paid("p1")}, "p1") == Finding::AmountMismatch);
    CHECK(finding({tx("r1", TxState::Refunded)}, {}, {paid("r1"), refund("r1", 1000)}, "r1") == Finding::AmountMismatch);
    auto r = reconcile("2026-01-05", {tx("p1", TxState::Posted)}, {his("p1", "payment", 1200)}, {paid("p1")});
    REQUIRE(r.ok());
    CHECK(item(r.value(), "p1").detail == "ledger 12.50, hospital paid 12.00, provider paid 12.50");
}

TEST_CASE("reconcile: state mismatches for each settled state") {
    // POSTED, but refunded at the provider or at the hospital.
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1")}, {paid("p1"), refund("p1")}, "p1") == Finding::StateMismatch);
    CHECK(finding({tx("p1", TxState::Posted)}, {his("p1"), his("p1", "refund")}, {paid("p1")}, "p1") == Finding::StateMismatch);
    // REFUNDED, but the provider never refunded, or the hospital committed it (what the
    // design forbids: a refund of a payment the hospital holds).
    CHECK(finding({tx("r1", TxState::Refunded)}, {}, {paid("r1")}, "r1") == Finding::StateMismatch);
    auto r = reconcile("2026-01-05", {tx("r1", TxState::Refunded)}, {his("r1")}, {paid("r1"), refund("r1")});
    REQUIRE(r.ok());
    CHECK(item(r.value(), "r1").finding == Finding::StateMismatch);
    CHECK(item(r.value(), "r1").detail.find("the hospital committed a payment the platform refunded") != std::string::npos);
    // VOIDED, but money moved at the provider, or the hospital lists it.
    CHECK(finding({tx("v1", TxState::Voided)}, {}, {paid("v1")}, "v1") == Finding::StateMismatch);
    CHECK(finding({tx("v1", TxState::Voided)}, {his("v1")}, {}, "v1") == Finding::StateMismatch);
}

TEST_CASE("reconcile: IN_DOUBT and unsettled transactions are their own categories, not mismatches") {
    std::vector<Transaction> ledger = {tx("d1", TxState::InDoubt), tx("c1", TxState::Created), tx("h1", TxState::Held),
                                       tx("x1", TxState::Dispatched), tx("k1", TxState::Confirmed), tx("j1", TxState::Rejected),
                                       tx("b1", TxState::Posted, 0, TxKind::Booking)};
    auto r = reconcile("2026-01-05", ledger, {his("d1")}, {paid("d1"), paid("h1")});
    REQUIRE(r.ok());
    CHECK(item(r.value(), "d1").finding == Finding::InDoubt);
    CHECK(item(r.value(), "d1").at_his);  // what the hospital shows is reported beside it
    CHECK(item(r.value(), "d1").provider_paid_fen == 1250);
    CHECK(r->counts.at(Finding::InDoubt) == 1);
    CHECK(r->counts.at(Finding::Unsettled) == 5);
    CHECK(r->bookings == 1);
    CHECK(r->items.size() == 6);  // the booking moves no money: counted, not an item
    CHECK(r->clean());
    CHECK(r->mismatches() == 0);
}

TEST_CASE("reconcile: a day of every finding, counted once per id, as text and JSON") {
    std::vector<Transaction> ledger = {tx("a-match", TxState::Posted), tx("b-nohis", TxState::Posted),
                                       tx("c-noprov", TxState::Posted), tx("d-amount", TxState::Posted),
                                       tx("e-state", TxState::Voided),  tx("f-doubt", TxState::InDoubt)};
    std::vector<HisLine> h = {his("a-match"), his("c-noprov"), his("d-amount", "payment", 1), his("g-extra")};
    std::vector<ProviderLine> p = {paid("a-match"), paid("b-nohis"), paid("d-amount"), paid("e-state")};
    auto r = reconcile("2026-01-05", ledger, h, p);
    REQUIRE(r.ok());
    CHECK(r->items.size() == 7);
    CHECK(r->counts.at(Finding::Matched) == 1);
    CHECK(r->counts.at(Finding::MissingAtHospital) == 1);
    CHECK(r->counts.at(Finding::MissingAtProvider) == 1);
    CHECK(r->counts.at(Finding::AmountMismatch) == 1);
    CHECK(r->counts.at(Finding::StateMismatch) == 1);
    CHECK(r->counts.at(Finding::InDoubt) == 1);
    CHECK(r->counts.at(Finding::MissingInLedger) == 1);
    CHECK(r->mismatches() == 5);
    CHECK_FALSE(r->clean());

    auto text = r->to_text();
    CHECK(text.find("reconciliation 2026-01-05: 5 mismatch(es)") == 0);
    CHECK(text.find("  amount_mismatch: 1\n") != std::string::npos);
    CHECK(text.find("missing_in_ledger g-extra ledger=- hospital=12.50/-0.00 provider=-") != std::string::npos);
    CHECK(text.find("a-match") == std::string::npos);  // matched items are counted, not listed

    auto j = r->to_json();
    CHECK(j["date"] == "2026-01-05");
    CHECK(j["clean"] == false);
    CHECK(j["mismatches"] == 5);
    CHECK(j["counts"]["state_mismatch"] == 1);
    CHECK(j["counts"]["unsettled"] == 0);
    REQUIRE(j["items"].size() == 7);
    CHECK(j["items"][0]["id"] == "a-match");
    CHECK(j["items"][0]["finding"] == "matched");
    CHECK(j["items"][0]["ledgerState"] == "POSTED");
    CHECK(j["items"][0]["provider"]["paidFen"] == 1250);
    CHECK(j["items"][6]["id"] == "g-extra");
    CHECK(j["items"][6]["ledgerState"].is_null());
}

TEST_CASE("reconcile: a statement line of an unknown kind or a bad amount is refused, naming the line") {
    auto r = reconcile("2026-01-05", {}, {his("a"), his("b", "chargeback")}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "reconcile.bad_line");
    CHECK(r.error().cls == ErrorClass::BadInput);
    CHECK(r.error().message.find("the hospital's statement line 2") != std::string::npos);
    CHECK(r.error().message.find("chargeback") != std::string::npos);
    auto zero = reconcile("2026-01-05", {}, {}, {paid("a", 0)});
    REQUIRE_FALSE(zero.ok());
    CHECK(zero.error().message.find("the provider's bill line 1") != std::string::npos);
    CHECK_FALSE(reconcile("2026-01-05", {}, {his("", "payment")}, {}).ok());
}
