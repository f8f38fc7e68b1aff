// Three-way reconciliation in the control plane (issue 15 item 6, docs/ledger.md
// "Reconciliation"): for one day, the ledgers' transactions, each hospital's daily
// statement fetched through its agent (statement.daily) and the provider's bill, matched
// by the pure core (controlplane/ledger/reconcile.h). Each mismatch becomes a triage error
// ("reconcile.<finding>") with the owner the rules give it. It runs when asked (the API,
// `hisgate reconcile`) and nightly for the day before.
//
// Days are UTC dates. The ledger side is every transaction created on the day; the
// hospitals' statements and the provider's bill are read for the day and the next (a
// payment of 23:59 refunded at 00:01 is one story), and a line of the next day whose id is
// not among the day's transactions is left to the next day's run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/ledger/reconcile.h"
#include "controlplane/money/ledger_service.h"
#include "controlplane/payments/pay_sim_provider.h"
#include "controlplane/router.h"
#include "controlplane/task_results.h"
#include "controlplane/triage/error_book.h"

namespace hisgate::controlplane::money {

struct ReconcileSettings {
    std::chrono::milliseconds statement_wait{std::chrono::seconds(120)};  // a deferred statement's answer
    int nightly_hour_utc = 2;  // the nightly run, for the day before; -1: none
};

class Reconciler {
public:
    Reconciler(LedgerService& ledgers, Router& router, TaskResults& results, payments::PaySimProvider& provider,
               triage::ErrorBook* triage, Clock& clock, ReconcileSettings settings = {});
    ~Reconciler();  // stop()

    // One day (YYYY-MM-DD), every partition or one. Errors: BadInput "reconcile.bad_date"
    // or "reconcile.unknown_partition"; Unavailable "reconcile.statement_missing" naming
    // the hospital whose statement did not come, and the provider's errors: no report is
    // made from a party that did not answer.
    Result<ledger::ReconcileReport> run(const std::string& date, const std::string& partition = "");

    void start();  // the nightly run
    void stop();

private:
    Result<std::vector<ledger::HisLine>> statement(const std::string& hospital_id, const std::string& date);
    void book_mismatches(const ledger::ReconcileReport& report, const std::map<std::string, std::string>& hospital_of);
    void nightly();

    LedgerService& ledgers_;
    Router& router_;
    TaskResults& results_;
    payments::PaySimProvider& provider_;
    triage::ErrorBook* triage_;
    Clock& clock_;
    ReconcileSettings settings_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

// "2026-01-05" → [its 00:00 UTC, the next day's) in Unix ms; nullopt when not a real date.
std::optional<std::pair<int64_t, int64_t>> utc_day_ms(const std::string& date);
// The UTC date of a Unix ms time.
std::string utc_date_of(int64_t ms);

// The lines of a hospital's statement.daily answer ({"lines": [{"orderId", "kind",
// "amountCents"}]}), checked for shape and bounds (at most 1,000,000 lines, order ids of 1
// to 128 characters, amounts that fit int64); BadInput "reconcile.bad_statement" naming
// the line and what was expected. Kinds and amount ranges are the reconcile core's to judge.
Result<std::vector<ledger::HisLine>> his_lines_of(const nlohmann::json& answer);

}  // namespace hisgate::controlplane::money
