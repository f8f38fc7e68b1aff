#include "controlplane/health/path_health_intake.h"

#include <cctype>

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::controlplane::health {

namespace {
constexpr size_t kMaxReasonBytes = 128;

bool valid_path(const std::string& p) {
    if (p.empty() || p.size() > 64) return false;
    for (unsigned char c : p)
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
    return true;
}

std::string text_of(const nlohmann::json& o, const char* key) {
    if (!o.is_object()) return "";
    auto it = o.find(key);
    return (it != o.end() && it->is_string()) ? it->get<std::string>() : "";
}

void count(const std::string& outcome) {
    metrics::global()
        .counter("hisgate_health_probe_results_total", "Probe results the health board took, by outcome",
                 {{"outcome", outcome}})
        .inc();
}
}  // namespace

void take_probe_event(PathHealthStore& store, const events::AgentEvent& e) {
    const auto& body = e.envelope.body;  // an object: Envelope::parse refuses any other
    ProbeOutcome o;
    o.hospital_id = e.hospital_id;
    o.path = text_of(body, "path");
    o.outcome = text_of(body, "outcome");
    bool known = o.outcome == "ok" || o.outcome == "changed" || o.outcome == "failed" || o.outcome == "archived";
    if (!valid_path(o.path) || !known) {
        count("rejected");
        log::warn("health.probe_rejected", {{"hospital_id", o.hospital_id}, {"reason", "no readable path or outcome"}});
        return;
    }
    if (auto err = body.find("error"); err != body.end()) {
        o.reason = text_of(*err, "code");
        if (o.reason.empty()) o.reason = text_of(*err, "class");
    }
    if (o.reason.size() > kMaxReasonBytes) o.reason.resize(kMaxReasonBytes);
    for (auto& c : o.reason)
        if (!(c > ' ' && c < 0x7f)) c = '?';
    if (auto r = store.record(o); !r) {
        count("rejected");
        log::warn("health.probe_not_stored", {{"hospital_id", o.hospital_id}, {"error", r.error().describe()}});
        return;
    }
    count(o.outcome);
}

}  // namespace hisgate::controlplane::health
