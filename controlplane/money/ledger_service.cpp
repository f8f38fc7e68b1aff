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
    auto map = (*maps)->current();
    if (!map) return map.error();
    std::unique_ptr<LedgerService> service(
        new LedgerService(std::move(settings), clock, std::move(prefixes.value()), std::move(maps.value())));
    for (const auto& name : map->partitions()) {
        auto store = ledger::open_sqlite_ledger_store(service->settings_.dir + "/ledger-" + name + ".db", name);
        if (!store) return store.error();
        Partition p;
        p.store = std::move(store.value());
        p.confirmer = std::make_unique<ledger::Confirmer>(*p.store, clock, his, provider, service->settings_.confirmer);
        if (auto resumed = p.confirmer->resume(); !resumed) return resumed.error();
        service->partitions_.emplace(name, std::move(p));
    }
    return service;
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
    if (timer_.joinable()) timer_.join();
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
    auto map = maps_->current();
    if (!map) return map.error();
    auto routed = ledger::route(*map, prefixes_, region);
    if (!routed) return routed.error();
    intent.epoch = routed->epoch;
    intent.province = routed->province;  // what a partition split moves it by (partition_split.h)
    std::unique_lock lock(mu_);
    // A retry of a create (the same id) answers from the partition that holds it, whatever
    // the map says now: a transaction never moves by being asked for twice.
    if (auto held = partition_of(intent.id); held) routed->partition = *held;
    else if (held.error().cls != ErrorClass::NotFound) return held.error();
    auto p = partitions_.find(routed->partition);
    if (p == partitions_.end())
        return make_error(ErrorClass::Internal, "ledger.no_partition",
                          "the partition map names \"" + routed->partition + "\", which this control plane does not hold");
    intent.deadline_ms = clock_.wall_ms() + settings_.pay_window.count();
    auto created = p->second.confirmer->create(intent);
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
    std::unique_lock lock(mu_);
    auto name = partition_of(id);
    if (!name) return name.error();
    auto t = partitions_.at(*name).confirmer->cancel(id);
    if (!t) return t.error();
    lock.unlock();
    wake_.notify_all();
    return Located{*t, *name};
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
        auto listed = manual_only ? p.confirmer->manual_queue() : p.store->in_state(state, limit);
        if (!listed) return listed.error();
        for (auto& t : *listed) out.push_back(Located{std::move(t), name});
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
    auto name = partition_of(id);
    if (!name) return name.error();
    auto t = partitions_.at(*name).confirmer->resolve(id, committed, evidence, operator_name);
    if (!t) return t.error();
    log::info("ledger.resolved", {{"transaction_id", id}, {"partition", *name}, {"operator", operator_name},
                                  {"committed", committed}, {"state", std::string(ledger::to_string(t->state))}});
    lock.unlock();
    wake_.notify_all();
    return Located{*t, *name};
}

// Evidence for an id this control plane does not hold is counted and dropped: a provider or
// agent answering about someone else's order, or an id forged by a caller.
template <typename Call>
void LedgerService::with_confirmer_of(const std::string& id, Call call) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        auto name = partition_of(id);
        if (!name) {
            log::warn("ledger.evidence_unplaced", {{"transaction_id", id}, {"error", name.error().describe()}});
            return;
        }
        call(*partitions_.at(*name).confirmer);
    }
    wake_.notify_all();
}

void LedgerService::on_payment_notification(const std::string& id, int64_t amount_fen) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_payment_notification(id, amount_fen); });
}
void LedgerService::on_close_answer(const std::string& id, ledger::CloseOutcome outcome) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_close_answer(id, outcome); });
}
void LedgerService::on_refund_answer(const std::string& id, bool refunded) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_refund_answer(id, refunded); });
}
void LedgerService::on_change_reply(const std::string& id, bool committed) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_change_reply(id, committed); });
}
void LedgerService::on_probe_answer(const std::string& id, ledger::HisStatus status) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_probe_answer(id, status); });
}
void LedgerService::on_revoke_answer(const std::string& id, ledger::RevokeOutcome outcome) {
    with_confirmer_of(id, [&](ledger::Confirmer& c) { c.on_revoke_answer(id, outcome); });
}

}  // namespace hisgate::controlplane::money
