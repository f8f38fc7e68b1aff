#include "controlplane/money/reconciler.h"

#include <chrono>
#include <map>
#include <set>

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "common/trace.h"

namespace hisgate::controlplane::money {

namespace {
constexpr size_t kMaxStatementLines = 1'000'000;
constexpr size_t kMaxOrderIdLength = 128;
constexpr int64_t kDayMs = 86'400'000;

Error statement_missing(const std::string& hospital_id, const std::string& date, const std::string& why) {
    return make_error(ErrorClass::Unavailable, "reconcile.statement_missing",
                      "hospital " + hospital_id + "'s statement of " + date + " did not come: " + why);
}
}  // namespace

std::optional<std::pair<int64_t, int64_t>> utc_day_ms(const std::string& date) {
    if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (date[i] < '0' || date[i] > '9') return std::nullopt;
    std::chrono::year_month_day ymd{std::chrono::year{std::stoi(date.substr(0, 4))},
                                    std::chrono::month{static_cast<unsigned>(std::stoi(date.substr(5, 2)))},
                                    std::chrono::day{static_cast<unsigned>(std::stoi(date.substr(8, 2)))}};
    if (!ymd.ok()) return std::nullopt;
    const int64_t start = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::sys_days{ymd}.time_since_epoch())
                              .count();
    return std::pair{start, start + kDayMs};
}

std::string utc_date_of(int64_t ms) {
    auto days = std::chrono::floor<std::chrono::days>(std::chrono::sys_time<std::chrono::milliseconds>(
        std::chrono::milliseconds(ms)));
    std::chrono::year_month_day ymd{days};
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
    return out;
}

Reconciler::Reconciler(LedgerService& ledgers, Router& router, TaskResults& results, payments::PaySimProvider& provider,
                       triage::ErrorBook* triage, Clock& clock, ReconcileSettings settings)
    : ledgers_(ledgers), router_(router), results_(results), provider_(provider), triage_(triage), clock_(clock),
      settings_(settings) {}

Reconciler::~Reconciler() { stop(); }

Result<std::vector<ledger::HisLine>> Reconciler::statement(const std::string& hospital_id, const std::string& date) {
    auto asked = router_.ask(hospital_id, "statement.daily", {{"date", date}});
    Result<nlohmann::json> answer = asked.answer;
    if (!answer && answer.error().cls == ErrorClass::Timeout && asked.deferred && !asked.task_id.empty()) {
        // Statements are deferred work at the agent (drained in batches): wait for it.
        auto finished = results_.wait_finished(asked.task_id, settings_.statement_wait);
        if (!finished) return statement_missing(hospital_id, date, "no answer within the wait");
        answer = finished->outcome();
    }
    if (!answer) return statement_missing(hospital_id, date, answer.error().code + ": " + answer.error().message);
    auto lines = his_lines_of(*answer);
    if (!lines) return statement_missing(hospital_id, date, lines.error().message);
    return lines;
}

Result<std::vector<ledger::HisLine>> his_lines_of(const nlohmann::json& answer) {
    auto bad = [](const std::string& what) { return make_error(ErrorClass::BadInput, "reconcile.bad_statement", what); };
    if (!answer.is_object()) return bad("the answer is not a JSON object");
    const auto lines = answer.find("lines");
    if (lines == answer.end() || !lines->is_array()) return bad("the answer has no \"lines\" array");
    if (lines->size() > kMaxStatementLines)
        return bad("the answer has " + std::to_string(lines->size()) + " lines; at most " +
                   std::to_string(kMaxStatementLines) + " are read");
    std::vector<ledger::HisLine> out;
    out.reserve(lines->size());
    for (size_t i = 0; i < lines->size(); ++i) {
        const auto& l = (*lines)[i];
        const auto where = "line " + std::to_string(i + 1) + ": ";
        if (!l.is_object()) return bad(where + "not an object");
        const auto id = l.find("orderId"), kind = l.find("kind"), amount = l.find("amountCents");
        if (id == l.end() || !id->is_string() || id->get_ref<const std::string&>().empty() ||
            id->get_ref<const std::string&>().size() > kMaxOrderIdLength)
            return bad(where + "orderId: expected a string of 1 to " + std::to_string(kMaxOrderIdLength) + " characters");
        if (kind == l.end() || !kind->is_string()) return bad(where + "kind: expected \"payment\" or \"refund\"");
        // An integer that fits int64 (a large unsigned one would wrap to a negative amount).
        if (amount == l.end() || !amount->is_number_integer() ||
            (amount->is_number_unsigned() && amount->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
            return bad(where + "amountCents: expected a whole number of fen");
        out.push_back({id->get<std::string>(), kind->get<std::string>(), amount->get<int64_t>()});
    }
    return out;
}

Result<ledger::ReconcileReport> Reconciler::run(const std::string& date, const std::string& partition) {
    auto day = utc_day_ms(date);
    if (!day) return make_error(ErrorClass::BadInput, "reconcile.bad_date", "date: expected a real day as YYYY-MM-DD");
    auto transactions = ledgers_.created_between(day->first, day->second, partition);
    if (!transactions) return transactions.error();
    std::set<std::string> ids;
    std::map<std::string, std::string> hospital_of;
    std::set<std::string> hospitals;
    std::vector<ledger::Transaction> ledger_side;
    for (auto& located : *transactions) {
        const auto& t = located.transaction;
        ids.insert(t.intent.id);
        hospital_of[t.intent.id] = t.intent.hospital_id;
        hospitals.insert(t.intent.hospital_id);
        ledger_side.push_back(t);
    }
    // A POSTED payment of the day is judged with its refund after POSTED (reconcile.h),
    // whenever that was made: its lines are the payment's.
    const size_t of_the_day = ledger_side.size();
    for (size_t i = 0; i < of_the_day; ++i) {
        if (ledger_side[i].intent.kind != ledger::TxKind::Payment || ledger_side[i].state != ledger::TxState::Posted) continue;
        auto fixes = ledgers_.corrections_of(ledger_side[i].intent.id);
        if (!fixes) return fixes.error();
        for (auto& f : *fixes)
            if (ids.insert(f.transaction.intent.id).second) ledger_side.push_back(std::move(f.transaction));
    }
    // The next day too, while it has begun: what happened to the day's payments after midnight.
    std::vector<std::string> days = {date};
    if (clock_.wall_ms() >= day->second) days.push_back(utc_date_of(day->second));
    // A line belongs to this run when its id is one of the day's transactions, or when it is
    // of the day itself and no partition holds its id (missing in the ledger); a line of
    // another partition's transaction, or of the next day's, is another run's.
    auto ours = [&](const std::string& id, const std::string& line_day) {
        if (ids.contains(id)) return true;
        if (line_day != date) return false;
        return !ledgers_.find(id).ok();
    };
    std::vector<ledger::HisLine> his;
    for (const auto& h : hospitals)
        for (const auto& d : days) {
            auto lines = statement(h, d);
            if (!lines) return lines.error();
            for (auto& l : *lines)
                if (ours(l.order_id, d)) {
                    hospital_of.try_emplace(l.order_id, h);
                    his.push_back(std::move(l));
                }
        }
    std::vector<ledger::ProviderLine> provider;
    for (const auto& d : days) {
        auto bill = provider_.bill(d);
        if (!bill) return bill.error();
        for (auto& l : *bill)
            if (ours(l.out_trade_no, d)) provider.push_back(std::move(l));
    }
    auto report = ledger::reconcile(date, ledger_side, his, provider);
    if (!report) return report.error();
    book_mismatches(*report, hospital_of);
    metrics::global()
        .counter("hisgate_reconcile_runs_total", "Reconciliation runs", {{"outcome", report->clean() ? "clean" : "mismatch"}})
        .inc();
    log::info("reconcile.done", {{"date", date}, {"partition", partition.empty() ? "all" : partition},
                                 {"items", report->items.size()}, {"mismatches", report->mismatches()}});
    return report;
}

void Reconciler::book_mismatches(const ledger::ReconcileReport& report,
                                 const std::map<std::string, std::string>& hospital_of) {
    if (!triage_) return;
    for (const auto& item : report.items) {
        if (!ledger::is_mismatch(item.finding)) continue;
        triage::ErrorRecord r;
        r.cls = ErrorClass::Rejected;
        r.code = "reconcile." + std::string(ledger::to_string(item.finding));
        // A state or amount that differs at one party only is that party's owners' to look at.
        if (item.finding == ledger::Finding::StateMismatch || item.finding == ledger::Finding::AmountMismatch)
            if (!item.party.empty()) r.code += "." + item.party;
        auto h = hospital_of.find(item.id);
        if (h != hospital_of.end()) r.tags.hospital = h->second;
        r.tags.path = "reconcile";
        r.source = triage::Source::Reconcile;
        r.trace_id = current_trace().trace_id;
        if (auto booked = triage_->record(r); !booked)
            log::error("reconcile.triage_failed", {{"transaction_id", item.id}, {"error", booked.error().describe()}});
    }
}

void Reconciler::start() {
    if (settings_.nightly_hour_utc < 0) return;
    thread_ = std::thread([this] {
        name_this_thread("reconcile");
        nightly();
    });
}

void Reconciler::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Reconciler::nightly() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const int64_t now = clock_.wall_ms();
        int64_t next = now / kDayMs * kDayMs + settings_.nightly_hour_utc * 3'600'000LL;
        if (next <= now) next += kDayMs;
        if (clock_.wait_for(lock, wake_, std::chrono::milliseconds(next - now), [&] { return stopping_; })) break;
        const std::string yesterday = utc_date_of(clock_.wall_ms() - kDayMs);
        lock.unlock();
        ScopedTrace trace(TraceContext::start());
        auto report = run(yesterday);
        if (!report) log::error("reconcile.nightly_failed", {{"date", yesterday}, {"error", report.error().describe()}});
        lock.lock();
    }
}

}  // namespace hisgate::controlplane::money
