#include "controlplane/alerts/alert_engine.h"

#include <algorithm>
#include <map>

#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "common/thread_name.h"

namespace hisgate::controlplane::alerts {

FleetSource registry_source(const HospitalRegistry& registry) {
    return [&registry]() -> Result<std::vector<FleetRecord>> {
        std::vector<FleetRecord> all;
        FleetQuery q;
        q.window = registry.window();
        q.limit = kMaxFleetPage;
        for (;;) {
            auto page = registry.list(q);
            if (!page) return page.error();
            for (auto& r : *page) all.push_back(std::move(r));
            if (page->size() < static_cast<size_t>(kMaxFleetPage)) return all;
            q.after = all.back().hospital_id;
        }
    };
}

AlertEngine::AlertEngine(AlertStore& store, FleetSource fleet, ProtocolWindow window, AlertThresholds thresholds,
                         Clock& clock)
    : store_(store), fleet_(std::move(fleet)), window_(window), thresholds_(std::move(thresholds)), clock_(clock) {}

AlertEngine::~AlertEngine() { stop(); }

Result<RoundResult> AlertEngine::evaluate() {
    std::lock_guard round(round_mu_);
    const int64_t now = clock_.wall_ms();
    auto fleet = fleet_();
    if (!fleet) return fleet.error();
    std::map<std::string, Condition> holding;
    for (const auto& r : *fleet)
        for (auto& c : conditions_of(r, window_, now, thresholds_)) holding.emplace(c.key(), std::move(c));
    for (const auto& source : sources_) {
        auto more = source(now);
        if (!more) return more.error();
        for (auto& c : *more) holding.emplace(c.key(), std::move(c));
    }
    auto firing = store_.firing();
    if (!firing) return firing.error();
    auto held = store_.held_keys();
    if (!held) return held.error();
    // A key an operator resolved by hand opens no alert while its condition holds; once it
    // stops holding, the hold goes, and the condition's next return is a new alert.
    std::vector<std::string> released;
    for (const auto& key : *held)
        if (!holding.count(key)) released.push_back(key);

    std::vector<Alert> opened, changed, resolved;
    std::map<std::string, const Alert*> fired_by_key;
    for (const auto& a : *firing) fired_by_key.emplace(a.key(), &a);
    for (const auto& a : *firing) {
        auto c = holding.find(a.key());
        if (c == holding.end()) {
            Alert done = a;
            done.state = AlertState::Resolved;
            done.resolved_ms = now;
            resolved.push_back(std::move(done));
        } else if (c->second.detail != a.detail) {
            Alert now_detail = a;
            now_detail.detail = c->second.detail;
            changed.push_back(std::move(now_detail));
        }
    }
    for (const auto& [key, c] : holding) {
        if (fired_by_key.count(key) || std::binary_search(held->begin(), held->end(), key)) continue;
        Alert a;
        a.id = new_id();
        a.rule = c.rule;
        a.hospital_id = c.hospital_id;
        a.subject = c.subject;
        a.state = AlertState::Firing;
        a.started_ms = now;
        a.owner = thresholds_.owner(c.rule);
        a.detail = c.detail;
        opened.push_back(std::move(a));
    }
    if (opened.empty() && changed.empty() && resolved.empty() && released.empty()) return RoundResult{};
    if (auto applied = store_.apply(opened, changed, resolved, released); !applied) return applied.error();
    auto& m = metrics::global();
    for (const auto& a : opened) {
        log::warn("alert.fired", {{"alert_id", a.id}, {"rule", a.rule}, {"hospital_id", a.hospital_id},
                                  {"subject", a.subject}, {"owner", a.owner}, {"detail", a.detail}});
        m.counter("hisgate_alerts_fired_total", "Alerts that started firing, by rule", {{"rule", a.rule}}).inc();
    }
    for (const auto& a : resolved) {
        log::info("alert.resolved", {{"alert_id", a.id}, {"rule", a.rule}, {"hospital_id", a.hospital_id},
                                     {"subject", a.subject}});
        m.counter("hisgate_alerts_resolved_total", "Alerts that stopped firing, by rule", {{"rule", a.rule}}).inc();
    }
    return RoundResult{static_cast<int>(opened.size()), static_cast<int>(resolved.size())};
}

void AlertEngine::start(std::chrono::milliseconds interval) {
    interval_ = interval;
    thread_ = std::thread([this] { loop(); });
}

void AlertEngine::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void AlertEngine::poke() {
    {
        std::lock_guard lock(mu_);
        poked_ = true;
    }
    cv_.notify_all();
}

void AlertEngine::loop() {
    name_this_thread("alerts");
    // A round reads the whole fleet, and a fleet pokes for every heartbeat it sends (10,000
    // agents every 30 s: 333 pokes a second), so rounds after a poke are spaced at least
    // kPokeGap (or the interval, when shorter) apart: the pokes of that time share one round.
    // Measured with bench/fleet_scale_bench: back-to-back rounds held a core at 2,000 agents.
    const auto gap = std::min<std::chrono::nanoseconds>(kPokeGap, interval_);
    std::unique_lock lock(mu_);
    auto last_round = clock_.steady_now() - gap;
    for (;;) {
        clock_.wait_for(lock, cv_, interval_, [this] { return stopping_ || poked_; });
        if (stopping_) return;
        if (poked_) clock_.wait_until(lock, cv_, last_round + gap, [this] { return stopping_; });
        if (stopping_) return;
        poked_ = false;
        last_round = clock_.steady_now();
        lock.unlock();
        if (auto r = evaluate(); !r) log::error("alert.evaluation_failed", {{"error", r.error().describe()}});
        lock.lock();
    }
}

}  // namespace hisgate::controlplane::alerts
