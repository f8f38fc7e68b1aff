#include "controlplane/money/ledger_service.h"

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "common/thread_name.h"

namespace hisgate::controlplane::money {

using ledger::TxState;

namespace {
// How long the timer sleeps at most when nothing is due: a new timer pokes it anyway.
constexpr std::chrono::seconds kIdleWake{1};
// How long a request waits for a switched map's partitions to be opened (a few
// milliseconds normally): past it, a retryable error rather than a wait without end.
constexpr std::chrono::seconds kInstallWait{5};
// A change refused because its partition moved is routed again at most this often.
constexpr int kMovedRetries = 3;

bool moved(const Error& e) { return e.code == "ledger.partition_moved" || e.code == "ledger.no_partition"; }
}  // namespace

Result<std::unique_ptr<LedgerService>> LedgerService::open(LedgerSettings settings, Clock& clock, ledger::HisPort& his,
                                                           ledger::PaymentPort& provider) {
    if (!ledger::known_province(settings.default_province))
        return make_error(ErrorClass::Config, "ledger.bad_province",
                          "ledger.default_province: \"" + settings.default_province.substr(0, 8) +
                              "\" is not a GB/T 2260 province code (11 to 82)");
    for (const auto& [hospital, province] : settings.hospital_province)
        if (!ledger::known_province(province))
            return make_error(ErrorClass::Config, "ledger.bad_province",
                              "ledger.hospital_province." + hospital.substr(0, 64) + ": \"" + province.substr(0, 8) +
                                  "\" is not a GB/T 2260 province code (11 to 82)");
    std::error_code ec;
    std::filesystem::create_directories(settings.dir, ec);
    if (ec)
        return make_error(ErrorClass::Config, "ledger.dir", "ledger.dir " + settings.dir + ": " + ec.message());
    auto prefixes = settings.prefixes_file.empty() ? ledger::PhonePrefixTable::parse("", "no phone prefix table")
                                                   : ledger::PhonePrefixTable::load(settings.prefixes_file);
    if (!prefixes) return prefixes.error();
    auto maps = ledger::open_sqlite_partition_map_store(settings.dir + "/partition-map.db");
    if (!maps) return maps.error();
    auto plans = SplitPlanStore::open(settings.dir + "/partition-map.db");
    if (!plans) return plans.error();
    // A split this directory's control plane was driving when it stopped (a kill -9, a
    // crash): the files are made to agree with the map before any partition opens.
    auto latest = plans->latest();
    if (!latest) return latest.error();
    if (*latest && ((*latest)->state == "running" || (*latest)->state == "switched")) {
        const auto& stored = **latest;
        auto outcome = ledger::recover_split(stored.plan, **maps);
        if (!outcome) return outcome.error();
        log::info("ledger.split_recovered", {{"source", stored.plan.source}, {"was", stored.state}, {"now", *outcome}});
        if (*outcome != stored.state) {
            auto progress = stored.progress.is_object() ? stored.progress : nlohmann::json::object();
            progress["recovered"] = *outcome;
            if (auto r = plans->set_state(stored.id, *outcome, progress, clock.wall_ms()); !r) return r.error();
        }
    }
    auto map = (*maps)->current();
    if (!map) return map.error();
    std::unique_ptr<LedgerService> service(
        new LedgerService(std::move(settings), clock, std::move(prefixes.value()), std::move(maps.value())));
    service->plans_.emplace(std::move(plans.value()));
    service->his_ = &his;
    service->provider_ = &provider;
    for (const auto& name : map->partitions()) {
        auto p = service->open_partition(name);
        if (!p) return p.error();
        service->partitions_.emplace(name, std::move(p.value()));
    }
    service->installed_epoch_ = map->epoch;
    return service;
}

std::string LedgerService::ledger_path(const std::string& partition) const {
    return settings_.dir + "/ledger-" + partition + ".db";
}

Result<LedgerService::Partition> LedgerService::open_partition(const std::string& name) {
    auto store = ledger::open_sqlite_ledger_store(ledger_path(name), name);
    if (!store) return store.error();
    Partition p;
    p.store = std::move(store.value());
    p.confirmer = std::make_unique<ledger::Confirmer>(*p.store, clock_, *his_, *provider_, settings_.confirmer);
    // After a switch this picks up each moved transaction where the source left it: an
    // IN_DOUBT one at its stored next probe (docs/ledger.md, "Live partition split").
    if (auto resumed = p.confirmer->resume(); !resumed) return resumed.error();
    return p;
}

LedgerService::LedgerService(LedgerSettings settings, Clock& clock, ledger::PhonePrefixTable prefixes,
                             std::unique_ptr<ledger::PartitionMapStore> maps)
    : settings_(std::move(settings)), clock_(clock), prefixes_(std::move(prefixes)), maps_(std::move(maps)) {}

LedgerService::~LedgerService() { stop(); }

void LedgerService::start() {
    timer_ = std::thread([this] {
        name_this_thread("ledger-timer");
        run_timers();
    });
}

void LedgerService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    installed_.notify_all();
    if (timer_.joinable()) timer_.join();
    // A split in progress runs to its end (or aborts by itself): it holds no lock of ours.
    if (split_thread_.joinable()) split_thread_.join();
}

void LedgerService::run_timers() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        std::optional<int64_t> next;
        for (auto& [name, p] : partitions_) {
            p.confirmer->tick();
            if (auto due = p.confirmer->next_due_ms(); due && (!next || *due < *next)) next = *due;
        }
        auto wait = std::chrono::milliseconds(kIdleWake);
        if (next) wait = std::clamp(std::chrono::milliseconds(*next - clock_.wall_ms()), std::chrono::milliseconds(0),
                                    std::chrono::milliseconds(kIdleWake));
        if (wait.count() > 0) clock_.wait_for(lock, wake_, wait, [&] { return stopping_; });
    }
}

std::string LedgerService::hospital_province(const std::string& hospital_id) const {
    auto it = settings_.hospital_province.find(hospital_id);
    return it == settings_.hospital_province.end() ? settings_.default_province : it->second;
}

std::vector<std::string> LedgerService::partitions() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, p] : partitions_) out.push_back(name);
    return out;
}

Result<Located> LedgerService::create(ledger::TransactionIntent intent, const ledger::PatientRegion& region) {
    return create_prepaid(std::move(intent), {}, region);
}

Result<Located> LedgerService::create_prepaid(ledger::TransactionIntent booking, ledger::TransactionIntent payment,
                                              const ledger::PatientRegion& region) {
    std::optional<ledger::TransactionIntent> bound;
    if (!payment.id.empty()) bound = std::move(payment);
    for (int attempt = 0;; ++attempt) {
        auto created = create_once(booking, region, bound);
        // A split or a rollback switched while this create waited for the partition's lock:
        // the map names the new owner (published before the old one was fenced).
        if (!created && moved(created.error()) && attempt < kMovedRetries) continue;
        return created;
    }
}

Result<void> LedgerService::wait_installed(std::unique_lock<std::mutex>& lock, int64_t epoch) {
    if (installed_epoch_ >= epoch) return {};
    // Real time, not the injected clock: this waits for another thread's work (the split's
    // install), not for business time to pass.
    installed_.wait_for(lock, kInstallWait, [&] { return installed_epoch_ >= epoch || stopping_; });
    if (installed_epoch_ >= epoch) return {};
    return make_error(ErrorClass::Unavailable, "ledger.switching",
                      "the partition map moved to epoch " + std::to_string(epoch) +
                          " and its partitions are not open yet; retry");
}

Result<Located> LedgerService::create_once(ledger::TransactionIntent intent, const ledger::PatientRegion& region,
                                           std::optional<ledger::TransactionIntent> payment) {
    auto map = maps_->current();
    if (!map) return map.error();
    auto routed = ledger::route(*map, prefixes_, region);
    if (!routed) return routed.error();
    intent.epoch = routed->epoch;
    intent.province = routed->province;  // what a partition split moves it by (partition_split.h)
    std::unique_lock lock(mu_);
    if (auto ready = wait_installed(lock, map->epoch); !ready) return ready.error();
    // A retry of a create (the same id) answers from the partition that holds it, whatever
    // the map says now: a transaction never moves by being asked for twice.
    if (auto held = partition_of(intent.id); held) routed->partition = *held;
    else if (held.error().cls != ErrorClass::NotFound) return held.error();
    auto p = partitions_.find(routed->partition);
    if (p == partitions_.end())
        return make_error(ErrorClass::Internal, "ledger.no_partition",
                          "the partition map names \"" + routed->partition + "\", which this control plane does not hold");
    intent.deadline_ms = clock_.wall_ms() + settings_.pay_window.count();
    if (payment) {
        payment->epoch = intent.epoch;
        payment->province = intent.province;
        payment->deadline_ms = intent.deadline_ms;
        intent.deadline_ms = 0;  // the booking waits on its payment's deadline
    }
    auto created = payment ? p->second.confirmer->create_prepaid(intent, *payment) : p->second.confirmer->create(intent);
    if (!created) return created.error();
    lock.unlock();
    wake_.notify_all();  // a new deadline may be the nearest timer
    return Located{*created, routed->partition};
}

Result<std::string> LedgerService::partition_of(const std::string& id) {
    std::optional<std::string> found;
    for (auto& [name, p] : partitions_) {
        auto t = p.store->get(id);
        if (!t) return t.error();
        if (!*t) continue;
        // Always on: one transaction, one partition.
        if (found)
            return make_error(ErrorClass::Internal, "ledger.two_partitions",
                              "transaction " + id + " is in both " + *found + " and " + name);
        found = name;
    }
    if (!found) return make_error(ErrorClass::NotFound, "transaction.unknown", "no transaction with that id");
    return *found;
}

Result<Located> LedgerService::find(const std::string& id) {
    std::lock_guard lock(mu_);
    auto name = partition_of(id);
    if (!name) return name.error();
    auto t = partitions_.at(*name).store->get(id);
    if (!t) return t.error();
    if (!*t || !(*t)->exists) return make_error(ErrorClass::NotFound, "transaction.unknown", "no transaction with that id");
    return Located{**t, *name};
}

Result<std::vector<ledger::Entry>> LedgerService::history(const std::string& id) {
    std::lock_guard lock(mu_);
    auto name = partition_of(id);
    if (!name) return name.error();
    return partitions_.at(*name).store->history(id);
}

Result<Located> LedgerService::cancel(const std::string& id) {
    for (int attempt = 0;; ++attempt) {
        std::unique_lock lock(mu_);
        auto map = maps_->current();
        if (!map) return map.error();
        if (auto ready = wait_installed(lock, map->epoch); !ready) return ready.error();
        auto name = partition_of(id);
        if (!name) return name.error();
        auto t = partitions_.at(*name).confirmer->cancel(id);
        if (!t && moved(t.error()) && attempt < kMovedRetries) continue;  // its owner moved meanwhile
        if (!t) return t.error();
        lock.unlock();
        wake_.notify_all();
        return Located{*t, *name};
    }
}

Result<Located> LedgerService::correct(const std::string& original_id, ledger::TxKind kind,
                                       const std::string& correction_id) {
    for (int attempt = 0;; ++attempt) {
        std::unique_lock lock(mu_);
        auto map = maps_->current();
        if (!map) return map.error();
        if (auto ready = wait_installed(lock, map->epoch); !ready) return ready.error();
        // The correction lives with what it corrects: the same partition, routed by the same
        // province, so a split moves them together.
        auto name = partition_of(original_id);
        if (!name) return name.error();
        auto& p = partitions_.at(*name);
        auto original = p.store->get(original_id);
        if (!original) return original.error();
        if (!*original || !(*original)->exists)
            return make_error(ErrorClass::NotFound, "transaction.unknown", "no transaction with that id");
        const ledger::TransactionIntent& of = (*original)->intent;
        ledger::TransactionIntent fix;
        fix.id = correction_id;
        fix.kind = kind;
        fix.hospital_id = of.hospital_id;
        fix.patient_id = of.patient_id;
        fix.amount_fen = of.amount_fen;
        fix.currency = of.currency;
        fix.purpose = kind == ledger::TxKind::Refund ? "refund" : "cancel";
        fix.epoch = of.epoch;
        fix.province = of.province;
        fix.corrects = original_id;
        auto created = p.confirmer->create(fix);
        if (!created && moved(created.error()) && attempt < kMovedRetries) continue;  // its owner moved meanwhile
        if (!created) return created.error();
        lock.unlock();
        wake_.notify_all();
        return Located{*created, *name};
    }
}

Result<std::vector<Located>> LedgerService::corrections_of(const std::string& id) {
    std::lock_guard lock(mu_);
    auto name = partition_of(id);
    if (!name) return name.error();
    auto fixes = partitions_.at(*name).store->corrections_of(id);
    if (!fixes) return fixes.error();
    std::vector<Located> out;
    for (auto& t : *fixes) out.push_back(Located{std::move(t), *name});
    return out;
}

Result<std::vector<Located>> LedgerService::of_patient(const std::string& patient_id, int limit) {
    std::lock_guard lock(mu_);
    std::vector<Located> out;
    for (auto& [name, p] : partitions_) {
        auto mine = p.store->of_patient(patient_id, limit);
        if (!mine) return mine.error();
        for (auto& t : *mine) out.push_back(Located{std::move(t), name});
    }
    std::sort(out.begin(), out.end(), [](const Located& a, const Located& b) {
        return a.transaction.created_ms != b.transaction.created_ms ? a.transaction.created_ms > b.transaction.created_ms
                                                                    : a.transaction.intent.id < b.transaction.intent.id;
    });
    if (out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
    return out;
}

Result<std::vector<Located>> LedgerService::in_state(TxState state, int limit, bool manual_only) {
    std::lock_guard lock(mu_);
    std::vector<Located> out;
    for (auto& [name, p] : partitions_) {
        // Manual: IN_DOUBT ones the probes gave up on, refunds the provider kept refusing
        // (CONFIRMED corrections, REJECTED payments holding money; still asked), or a prepaid
        // pair's refund that did not happen after its last round (VOIDED: the hospital holds
        // the payment of a released booking).
        auto listed = manual_only && state == TxState::InDoubt ? p.confirmer->manual_queue()
                      : manual_only                            ? p.store->in_state(state, 100000)
                                                               : p.store->in_state(state, limit);
        if (!listed) return listed.error();
        for (auto& t : *listed)
            if (!manual_only || state == TxState::InDoubt || (t.manual && (ledger::awaits_provider_refund(t) || t.state == TxState::Voided)))
                out.push_back(Located{std::move(t), name});
    }
    if (out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
    return out;
}

Result<std::vector<Located>> LedgerService::created_between(int64_t from_ms, int64_t to_ms,
                                                            const std::string& partition) {
    std::lock_guard lock(mu_);
    if (!partition.empty() && !partitions_.contains(partition))
        return make_error(ErrorClass::BadInput, "ledger.unknown_partition",
                          "partition \"" + partition.substr(0, 32) + "\" is not one this control plane holds");
    std::vector<Located> out;
    for (auto& [name, p] : partitions_) {
        if (!partition.empty() && name != partition) continue;
        // A scan: reconciliation runs once a day. An index by creation time is the next step
        // when a partition's file grows past what a nightly scan reads quickly.
        auto every = p.store->all();
        if (!every) return every.error();
        for (auto& t : *every)
            if (t.exists && t.created_ms >= from_ms && t.created_ms < to_ms) out.push_back(Located{std::move(t), name});
    }
    return out;
}

Result<Located> LedgerService::resolve(const std::string& id, bool committed, const std::string& evidence,
                                       const std::string& operator_name) {
    std::unique_lock lock(mu_);
    Result<ledger::Transaction> t = make_error(ErrorClass::Internal, "ledger.unreached", "not tried");
    Result<std::string> name = std::string();
    for (int attempt = 0;; ++attempt) {
        auto map = maps_->current();
        if (!map) return map.error();
        if (auto ready = wait_installed(lock, map->epoch); !ready) return ready.error();
        name = partition_of(id);
        if (!name) return name.error();
        t = partitions_.at(*name).confirmer->resolve(id, committed, evidence, operator_name);
        if (t || !moved(t.error()) || attempt >= kMovedRetries) break;  // else its owner moved meanwhile
        lock.unlock();
        lock.lock();
    }
    if (!t) return t.error();
    log::info("ledger.resolved", {{"transaction_id", id}, {"partition", *name}, {"operator", operator_name},
                                  {"committed", committed}, {"state", std::string(ledger::to_string(t->state))}});
    lock.unlock();
    wake_.notify_all();
    return Located{*t, *name};
}

size_t LedgerService::agent_back(const std::string& hospital_id) {
    size_t woken = 0;
    {
        std::lock_guard lock(mu_);
        if (stopping_) return 0;
        for (auto& [name, p] : partitions_) woken += p.confirmer->agent_back(hospital_id);
    }
    if (woken > 0) {
        log::info("ledger.agent_back", {{"hospital_id", hospital_id}, {"attempts_woken", static_cast<int64_t>(woken)}});
        wake_.notify_all();  // the timer thread runs them now
    }
    return woken;
}

// Evidence for an id this control plane does not hold is counted and dropped: a provider or
// agent answering about someone else's order, or an id forged by a caller.
template <typename Call>
void LedgerService::with_confirmer_of(const std::string& id, Call call) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        std::function<void(ledger::Confirmer&)> fn = std::move(call);
        if (deliver(id, fn)) held_evidence_.push_back([this, id, fn] { (void)deliver(id, fn); });
    }
    wake_.notify_all();
}

bool LedgerService::deliver(const std::string& id, const std::function<void(ledger::Confirmer&)>& call) {
    auto name = partition_of(id);
    if (!name) {
        log::warn("ledger.evidence_unplaced", {{"transaction_id", id}, {"error", name.error().describe()}});
        return false;
    }
    call(*partitions_.at(*name).confirmer);
    // A partition frozen for a switch may have refused it (ledger.partition_moved): the
    // confirmer drops a refused change, so it goes again to the owner after the install.
    return switching_frozen_ && switching_.contains(*name);
}

void LedgerService::on_payment_notification(const std::string& id, int64_t amount_fen) {
    with_confirmer_of(id, [=](ledger::Confirmer& c) { c.on_payment_notification(id, amount_fen); });
}
void LedgerService::on_close_answer(const std::string& id, ledger::CloseOutcome outcome) {
    with_confirmer_of(id, [=](ledger::Confirmer& c) { c.on_close_answer(id, outcome); });
}
void LedgerService::on_refund_answer(const std::string& id, bool refunded) {
    with_confirmer_of(id, [=](ledger::Confirmer& c) { c.on_refund_answer(id, refunded); });
}
void LedgerService::on_change_reply(const std::string& id, bool committed, std::string_view refusal) {
    // By value: the call may be held back until a split's install (held_evidence_).
    with_confirmer_of(id, [=, code = std::string(refusal)](ledger::Confirmer& c) { c.on_change_reply(id, committed, code); });
}
void LedgerService::on_probe_answer(const std::string& id, ledger::HisStatus status) {
    with_confirmer_of(id, [=](ledger::Confirmer& c) { c.on_probe_answer(id, status); });
}
void LedgerService::on_revoke_answer(const std::string& id, ledger::RevokeOutcome outcome) {
    with_confirmer_of(id, [=](ledger::Confirmer& c) { c.on_revoke_answer(id, outcome); });
}

}  // namespace hisgate::controlplane::money

namespace hisgate::controlplane::money {

// ---- the live partition split (docs/ledger.md, "Live partition split") ----

Result<void> LedgerService::install_current_map() {
    auto map = maps_->current();
    if (!map) return map.error();
    auto names = map->partitions();
    std::set<std::string> wanted(names.begin(), names.end());
    // Dropped first: the old owner's confirmer must not act on what moved (its changes would
    // be refused); its file stays for a rollback and audit.
    for (auto it = partitions_.begin(); it != partitions_.end();)
        it = wanted.contains(it->first) ? std::next(it) : partitions_.erase(it);
    for (const auto& name : names) {
        if (partitions_.contains(name)) continue;
        auto p = open_partition(name);
        if (!p) {
            log::error("ledger.install_failed", {{"partition", name}, {"epoch", map->epoch}, {"error", p.error().describe()}});
            return p.error();
        }
        partitions_.emplace(name, std::move(p.value()));
    }
    installed_epoch_ = map->epoch;
    switching_.clear();
    switching_frozen_ = false;
    auto held = std::move(held_evidence_);
    held_evidence_.clear();
    for (auto& again : held) again();
    log::info("ledger.map_installed", {{"epoch", map->epoch}, {"partitions", static_cast<int64_t>(names.size())},
                                       {"evidence_redelivered", static_cast<int64_t>(held.size())}});
    installed_.notify_all();
    wake_.notify_all();
    return {};
}

namespace {
std::string state_of(ledger::SplitPhase phase) {
    switch (phase) {
        case ledger::SplitPhase::Switched: return "switched";
        case ledger::SplitPhase::Aborted: return "aborted";
        case ledger::SplitPhase::RolledBack: return "rolled_back";
        default: return "running";
    }
}
}  // namespace

void LedgerService::finish_split(int64_t plan_id, const std::string& state, const ledger::SplitProgress& progress) {
    std::lock_guard lock(plans_mu_);
    if (auto r = plans_->set_state(plan_id, state, progress.to_json(), clock_.wall_ms()); !r)
        // The plan stays "running" or "switched": the next start's recover_split decides from
        // the map, which is the truth either way.
        log::error("ledger.split_state_unsaved", {{"state", state}, {"error", r.error().describe()}});
}

ledger::SplitOptions LedgerService::split_options() {
    ledger::SplitOptions options;
    options.on_step = [this](const ledger::SplitProgress& p) {
        // Called while the source's write lock is held: takes no lock of ours (a writer
        // holding mu_ may be waiting on that SQLite lock).
        if (p.phase == ledger::SplitPhase::Frozen) switching_frozen_ = true;
        if (settings_.split_on_step) settings_.split_on_step(p);
    };
    options.hold_writers = [this](const std::vector<std::string>& names) {
        // mu_ is taken before the first hold and let go before it: a writer holding mu_ may
        // be waiting at a held store. The stores stay: partitions_ changes only by an
        // install, which comes after the freeze ends.
        std::vector<ledger::LedgerStore*> stores;
        {
            std::lock_guard lock(mu_);
            for (const auto& name : names)
                if (auto p = partitions_.find(name); p != partitions_.end()) stores.push_back(p->second.store.get());
        }
        std::vector<std::unique_ptr<ledger::WriteHold>> holds;
        for (auto* store : stores) holds.push_back(store->hold_writes());
        return holds;
    };
    return options;
}

void LedgerService::run_split(std::shared_ptr<ledger::PartitionSplit> split, int64_t plan_id) {
    name_this_thread("ledger-split");
    Result<void> done = split->start();
    // A few rounds of catching up before the switch's own verifications, so the freeze
    // copies only the last moments' changes.
    for (int round = 0; done && round < 3; ++round) {
        auto copied = split->catch_up();
        if (!copied) done = copied.error();
        else if (*copied == 0) break;
    }
    if (done)
        if (auto switched = split->freeze_and_switch(); !switched) done = switched.error();
    auto progress = split->progress();
    if (progress.phase == ledger::SplitPhase::Switched) {
        // The map names the targets (even when only the source's fence failed to commit,
        // which recover_split writes at the next start): open them, drop the source.
        {
            std::lock_guard lock(mu_);
            if (auto r = install_current_map(); !r) done = r.error();
        }
        log::info("ledger.split_switched", {{"source", progress.source}, {"epoch", progress.to_epoch},
                                            {"freeze_ms", progress.freeze_ms}});
        finish_split(plan_id, "switched", progress);
    } else {
        if (progress.phase == ledger::SplitPhase::Copying || progress.phase == ledger::SplitPhase::Frozen ||
            progress.phase == ledger::SplitPhase::Planned)
            (void)split->abort(done ? "stopped" : done.error().describe());
        progress = split->progress();
        if (progress.error.empty() && !done) progress.error = done.error().describe();
        {
            std::lock_guard lock(mu_);
            switching_.clear();
            switching_frozen_ = false;
            held_evidence_.clear();  // nothing was fenced: what was delivered stands
        }
        log::warn("ledger.split_aborted", {{"source", progress.source}, {"error", progress.error}});
        finish_split(plan_id, "aborted", progress);
    }
    split_running_ = false;
}

Result<ledger::SplitProgress> LedgerService::start_split(const SplitRequest& request) {
    std::lock_guard guard(split_mu_);
    if (split_running_) {
        auto p = split_->progress();
        return make_error(ErrorClass::Rejected, "split.running",
                          "a split of " + p.source + " is running (" + std::string(ledger::to_string(p.phase)) +
                              ", step " + p.step + "): wait for it to end");
    }
    if (split_thread_.joinable()) split_thread_.join();
    auto bad = [](const std::string& what) { return make_error(ErrorClass::BadInput, "split.bad_plan", what); };
    if (request.source.empty() || request.source.size() > 32) return bad("source: a partition name (1 to 32 characters)");
    ledger::SplitPlan plan;
    plan.source = request.source;
    plan.source_path = ledger_path(request.source);
    plan.max_freeze = request.max_freeze.value_or(settings_.split_max_freeze);
    for (const auto& [name, provinces] : request.targets) {
        if (name.empty() || name.size() > 32) return bad("a target's name: 1 to 32 characters");
        plan.targets.push_back(ledger::SplitTarget{name, provinces, ledger_path(name)});
    }
    auto map = maps_->current();
    if (!map) return map.error();
    {
        std::lock_guard lock(mu_);
        if (installed_epoch_ != map->epoch)
            return make_error(ErrorClass::Rejected, "split.map_moving", "the partition map is being switched; retry");
    }
    if (auto ok = plan.check(*map); !ok) {
        auto e = ok.error();
        if (e.code != "split.bad_plan") e = bad(e.message);  // a target name's shape (PartitionMap::validate)
        return e;
    }
    for (const auto& t : plan.targets)
        if (std::filesystem::exists(t.path))
            return make_error(ErrorClass::Rejected, "split.target_exists",
                              "partition name " + t.partition + " was used before (its ledger file " + t.path +
                                  " exists, kept by an earlier split or rollback): name another");
    if (!split_maps_) {
        auto maps = ledger::open_sqlite_partition_map_store(settings_.dir + "/partition-map.db");
        if (!maps) return maps.error();
        split_maps_ = std::move(maps.value());
    }
    int64_t plan_id = 0;
    {
        std::lock_guard lock(plans_mu_);
        auto added = plans_->add(plan, clock_.wall_ms());  // durable before any target file exists
        if (!added) return added.error();
        plan_id = *added;
    }
    auto split = std::make_shared<ledger::PartitionSplit>(plan, *split_maps_, clock_, split_options());
    {
        std::lock_guard lock(mu_);
        switching_ = {plan.source};
        switching_frozen_ = false;
        held_evidence_.clear();
    }
    log::info("ledger.split_started", {{"source", plan.source}, {"targets", static_cast<int64_t>(plan.targets.size())},
                                       {"max_freeze_ms", static_cast<int64_t>(plan.max_freeze.count())}});
    split_ = split;
    split_running_ = true;
    split_thread_ = std::thread([this, split, plan_id] { run_split(split, plan_id); });
    return split->progress();
}

Result<ledger::SplitProgress> LedgerService::rollback_split(const std::string& source) {
    std::lock_guard guard(split_mu_);
    if (split_running_)
        return make_error(ErrorClass::Rejected, "split.running", "a split is running: wait for it to end");
    if (split_thread_.joinable()) split_thread_.join();
    std::optional<StoredSplit> stored;
    {
        std::lock_guard lock(plans_mu_);
        auto latest = plans_->latest();
        if (!latest) return latest.error();
        stored = *latest;
    }
    if (!stored || stored->plan.source != source || stored->state != "switched")
        return make_error(ErrorClass::Rejected, "split.nothing_to_roll_back",
                          "no switched split of " + source.substr(0, 32) + " to roll back" +
                              (stored ? " (the newest split is of " + stored->plan.source + ", " + stored->state + ")"
                                      : std::string(" (no split was made)")));
    if (!split_maps_) {
        auto maps = ledger::open_sqlite_partition_map_store(settings_.dir + "/partition-map.db");
        if (!maps) return maps.error();
        split_maps_ = std::move(maps.value());
    }
    auto split = split_;
    if (!split || split->plan().source != source || split->progress().phase != ledger::SplitPhase::Switched) {
        // Switched by an earlier process: the targets' files record the switch point.
        split = std::make_shared<ledger::PartitionSplit>(stored->plan, *split_maps_, clock_, split_options());
        if (auto attached = split->attach_switched(); !attached) return attached.error();
        split_ = split;
    }
    {
        std::lock_guard lock(mu_);
        for (const auto& t : stored->plan.targets) switching_.insert(t.partition);
        switching_frozen_ = true;  // the rollback freezes the targets from its first step
        held_evidence_.clear();
    }
    auto rolled = split->rollback();
    auto progress = split->progress();
    if (!rolled) {
        std::lock_guard lock(mu_);
        switching_.clear();
        switching_frozen_ = false;
        held_evidence_.clear();
        return rolled.error();
    }
    {
        std::lock_guard lock(mu_);
        if (auto r = install_current_map(); !r) return r.error();
    }
    log::info("ledger.split_rolled_back", {{"source", source}, {"epoch", progress.to_epoch},
                                           {"freeze_ms", progress.rollback_freeze_ms}});
    finish_split(stored->id, "rolled_back", progress);
    return progress;
}

Result<PartitionsView> LedgerService::partitions_view() {
    PartitionsView view;
    auto map = maps_->current();
    if (!map) return map.error();
    view.map = *map;
    std::lock_guard guard(split_mu_);
    if (split_) {
        auto p = split_->progress();
        // "switched" once the service holds the targets (the thread's last step), not at the
        // split's own switch: what an operator reads then is what requests see.
        view.split_state = split_running_ ? "running" : state_of(p.phase);
        view.split = p.to_json();
        return view;
    }
    std::lock_guard lock(plans_mu_);
    auto latest = plans_->latest();
    if (!latest) return latest.error();
    if (*latest) {
        view.split_state = (*latest)->state;
        view.split = (*latest)->progress;
        view.split["source"] = (*latest)->plan.source;
    }
    return view;
}

void LedgerService::wait_split() {
    std::lock_guard guard(split_mu_);
    if (split_thread_.joinable()) split_thread_.join();
}

}  // namespace hisgate::controlplane::money
