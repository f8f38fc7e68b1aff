#include "controlplane/fleet_metrics.h"

#include <cctype>

#include "common/metrics.h"

namespace hisgate::controlplane {

namespace {
bool valid_path(const std::string& p) {
    if (p.empty() || p.size() > 64) return false;
    for (unsigned char c : p)
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
    return true;
}

const nlohmann::json* number(const nlohmann::json& o, const char* name) {
    auto it = o.find(name);
    return (it != o.end() && it->is_number()) ? &*it : nullptr;
}
}  // namespace

void publish_fleet_metrics(const std::vector<FleetRecord>& fleet, const ProtocolWindow& window, int64_t now_ms) {
    auto& m = metrics::global();
    for (const auto& r : fleet) {
        const metrics::Labels h{{"hospital", r.hospital_id}};
        bool up = r.online && r.compatible(window);
        m.gauge("hisgate_hospital_up", "1 while the hospital's agent is online (and in the version window)", h)
            .set(up ? 1 : 0);
        if (r.last_heartbeat_ms > 0)
            m.gauge("hisgate_hospital_heartbeat_age_seconds", "Seconds since the hospital's last heartbeat", h)
                .set(static_cast<double>(now_ms - r.last_heartbeat_ms) / 1000.0);
        if (auto q = r.body.find("queue"); q != r.body.end() && q->is_object()) {
            if (auto d = number(*q, "depth"))
                m.gauge("hisgate_hospital_queue_depth", "Tasks in the hospital's queue (last heartbeat)", h)
                    .set(d->get<double>());
            if (auto o = number(*q, "oldestSeconds"))
                m.gauge("hisgate_hospital_oldest_task_seconds", "Age of the hospital's oldest queued task (last heartbeat)", h)
                    .set(o->get<double>());
        }
        if (auto p = r.body.find("probes"); p != r.body.end() && p->is_object()) {
            size_t n = 0;
            for (const auto& [path, last] : p->items()) {
                if (n >= kMaxMetricPaths) break;
                if (!valid_path(path) || !last.is_object()) continue;
                ++n;
                for (auto [window_name, field] : {std::pair{"1h", "availability1h"}, std::pair{"24h", "availability24h"}})
                    if (auto a = number(last, field))
                        m.gauge("hisgate_hospital_probe_availability",
                                "Share of a business path's probes answered in the window (last heartbeat)",
                                {{"hospital", r.hospital_id}, {"path", path}, {"window", window_name}})
                            .set(a->get<double>());
            }
        }
    }
}

void publish_fleet_metrics(const HospitalRegistry& registry, int64_t now_ms) {
    FleetQuery q;
    q.window = registry.window();
    q.limit = kMaxFleetPage;
    for (;;) {
        auto page = registry.list(q);
        if (!page || page->empty()) return;
        publish_fleet_metrics(*page, registry.window(), now_ms);
        if (page->size() < static_cast<size_t>(kMaxFleetPage)) return;
        q.after = page->back().hospital_id;
    }
}

}  // namespace hisgate::controlplane
