#include "agent/vitals/connection_manager.h"

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

void ConnectionManager::on_announcement(const Announcement& a) {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto it = links_.find(a.device);
    if (it != links_.end()) {
        it->second->announced(a);
        return;
    }
    if (links_.size() >= kMaxMonitors) {
        drops_.drop("too_many_monitors", {{"device", a.device}, {"max", kMaxMonitors}});
        return;
    }
    log::info("vitals.monitor_discovered", {{"device", a.device}, {"model", a.model}, {"bed", a.bed},
                                            {"interface", to_string(settings_.interface_of(a.model))}});
    auto link = std::make_unique<MonitorLink>(settings_, a, store_, drops_, clock_);
    link->start();
    links_.emplace(a.device, std::move(link));
    metrics::global().gauge("hisgate_vitals_monitors", "Monitors the gateway knows").set(static_cast<double>(links_.size()));
}

std::vector<MonitorStatus> ConnectionManager::monitors() const {
    std::lock_guard lock(mu_);
    std::vector<MonitorStatus> out;
    for (const auto& [_, link] : links_) out.push_back(link->status());
    return out;
}

void ConnectionManager::stop() {
    std::map<std::string, std::unique_ptr<MonitorLink>> links;
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
        links.swap(links_);
    }
    for (auto& [_, link] : links) link->stop();
}

}  // namespace hisgate::vitals
