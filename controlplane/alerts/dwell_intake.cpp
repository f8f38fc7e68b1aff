#include <cmath>

#include "common/log.h"
#include "common/metrics.h"
#include "controlplane/alerts/alert_rules.h"
#include "controlplane/alerts/dwell_reports.h"

namespace hisgate::controlplane::alerts {

namespace {
void count_dwell_report(const char* outcome) {
    metrics::global()
        .counter("hisgate_alerts_dwell_events_total", "Dwell events the alerts took, by outcome", {{"outcome", outcome}})
        .inc();
}

// A figure of seconds: a finite number from 0 to ten years, else nothing.
std::optional<double> seconds_of(const nlohmann::json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_number()) return std::nullopt;
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > 10 * 365 * 86400.0) return std::nullopt;
    return v;
}
}  // namespace

void take_dwell_event(DwellReports& reports, const events::AgentEvent& e) {
    const auto& env = e.envelope;
    const auto& body = env.body;
    auto oldest = seconds_of(body, "oldestSeconds"), p99 = seconds_of(body, "dwellP99Seconds"),
         threshold = seconds_of(body, "thresholdSeconds");
    // sent_at orders the verdicts: the envelope's shape (utc_time.h) or nothing.
    if (!oldest || !p99 || !threshold || env.sent_at.size() != 24 || env.sent_at.back() != 'Z') {
        count_dwell_report("rejected");
        log::warn("alerts.dwell_event_rejected",
                  {{"hospital_id", e.hospital_id}, {"type", env.type}, {"reason", "no readable figures or sent_at"}});
        return;
    }
    DwellVerdict v{e.hospital_id, env.type == "queue.dwell_exceeded", env.sent_at,
                   "the agent reports oldest task " + seconds_text(*oldest) + ", dwell p99 " + seconds_text(*p99) +
                       " (its threshold " + seconds_text(*threshold) + ")"};
    if (auto r = reports.report(v); !r) {
        count_dwell_report("rejected");
        log::warn("alerts.dwell_event_not_stored", {{"hospital_id", e.hospital_id}, {"error", r.error().describe()}});
        return;
    }
    count_dwell_report(v.exceeded ? "exceeded" : "recovered");
}

}  // namespace hisgate::controlplane::alerts
