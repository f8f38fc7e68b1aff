#include "controlplane/vitals/vitals_intake.h"

#include <map>

#include "common/log.h"
#include "common/metrics.h"
#include "controlplane/vitals/vitals_json.h"
#include "transport/envelope.h"
#include "transport/topics.h"

namespace hisgate::controlplane::vitals {

namespace {
metrics::Counter& messages(const char* outcome) {
    return metrics::global().counter("hisgate_controlplane_vitals_messages_total",
                                     "Vitals messages from the agents, by outcome", {{"outcome", outcome}});
}
constexpr int64_t kRefusalLogEveryMs = 60000;
}  // namespace

void VitalsIntake::refuse(const std::string& hospital_id, const std::string& topic, const Error& e) {
    messages("refused").inc();
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(log_mu_);
    auto& last = last_refusal_log_[hospital_id.empty() ? "?" : hospital_id];
    if (last != 0 && now - last < kRefusalLogEveryMs) return;
    last = now;
    log::warn("controlplane.vitals_refused", {{"topic", topic}, {"error", e.describe()}});
}

void VitalsIntake::take(const IncomingMessage& m) {
    auto hospital = topics::hospital_of(m.topic);
    if (!hospital) return refuse("", m.topic, make_error(ErrorClass::BadInput, "vitals.bad_topic", "no hospital in the topic"));
    auto env = Envelope::parse(m.payload, kVitalsMessageBytes);
    if (!env) return refuse(*hospital, m.topic, env.error());
    if (env->hospital_id != *hospital)
        return refuse(*hospital, m.topic,
                      make_error(ErrorClass::BadInput, "vitals.wrong_hospital", "the envelope names another hospital than its topic"));
    if (env->type == "vitals.monitors") {
        auto report = parse_monitor_report(env->body);
        if (!report) return refuse(*hospital, m.topic, report.error());
        board_.take_report(*hospital, *report);
        messages("monitors").inc();
        return;
    }
    if (env->type != "vitals.batch")
        return refuse(*hospital, m.topic,
                      make_error(ErrorClass::BadInput, "vitals.unknown_type", "a vitals message of type " + env->type.substr(0, 64)));
    auto batch = parse_vitals_batch(env->body);
    if (!batch) return refuse(*hospital, m.topic, batch.error());
    auto stored = store_.ingest(*hospital, *batch, clock_.wall_ms());
    if (!stored) {
        // The agent already has the broker's PUBACK and will not send it again: counted and
        // logged for the operators (a full disk, a locked file), and the next batch is tried.
        messages("store_failed").inc();
        log::error("controlplane.vitals_store_failed", {{"hospital_id", *hospital}, {"error", stored.error().describe()}});
        return;
    }
    messages("stored").inc();
    // The whole batch, whether this call or an earlier one (another instance) stored it:
    // this instance's board and ward screens see every sample and alarm.
    board_.take_samples(*hospital, stored->samples);
    board_.take_samples(*hospital, stored->samples_before);
    // One feed event per bed of the batch.
    std::map<std::string, nlohmann::json> by_bed;
    for (const auto* part : {&stored->samples_before, &stored->samples})
        for (const auto& s : *part) by_bed[s.bed].push_back(sample_json(s));
    for (auto& [bed, samples] : by_bed) {
        std::string ward = board_.ward_of(*hospital, bed);
        feed_.publish({*hospital, ward, bed, "vitals",
                       nlohmann::json{{"bed", bed}, {"ward", ward}, {"samples", std::move(samples)}}.dump()});
    }
    for (const auto* ids : {&stored->alarm_ids_before, &stored->alarm_ids})
        for (int64_t id : *ids) {
            auto a = store_.alarm(id);
            if (a) announce_alarm(*a, "raised");
        }
}

void VitalsIntake::announce_alarm(const AlarmRecord& a, const std::string& change) {
    const std::string state = a.state + "/" + std::to_string(a.escalation) + "/" + std::to_string(a.silenced_until_ms);
    {
        std::lock_guard lock(announced_mu_);
        auto [at, added] = announced_.try_emplace(a.id, state);
        if (!added && at->second == state) return;
        at->second = state;
        if (announced_.size() > kMaxAnnounced) announced_.erase(announced_.begin());
    }
    auto j = alarm_json(a);
    j["change"] = change;
    feed_.publish({a.hospital_id, board_.ward_of(a.hospital_id, a.bed), a.bed, "alarm", j.dump()});
}

void VitalsIntake::tick() {
    const int64_t now = clock_.wall_ms();
    auto escalated = store_.escalate_due(now, settings_.escalate_after.count());
    if (!escalated) log::error("controlplane.vitals_escalation_failed", {{"error", escalated.error().describe()}});
    else
        for (const auto& a : *escalated) {
            metrics::global()
                .counter("hisgate_controlplane_vitals_escalations_total", "Alarms escalated, not acknowledged in time",
                         {{"priority", priority_name(a.priority)}})
                .inc();
            announce_alarm(a, "escalated");
        }
    follow_audit();
    for (const auto& [hospital, m] : board_.changes())
        feed_.publish({hospital, m.report.ward, m.report.bed, "monitor", monitor_json(m).dump()});
    if (now - last_purge_ms_ >= settings_.purge_every.count()) {
        last_purge_ms_ = now;
        if (auto gone = store_.purge(now); !gone) log::error("controlplane.vitals_purge_failed", {{"error", gone.error().describe()}});
    }
}

void VitalsIntake::follow_audit() {
    if (audit_seen_ < 0) {
        auto head = store_.audit_head();
        if (!head) return log::error("controlplane.vitals_audit_failed", {{"error", head.error().describe()}});
        audit_seen_ = *head;
        return;
    }
    constexpr int kAuditPage = 500;  // a second's worth of staff actions many times over
    auto entries = store_.audit_after(audit_seen_, kAuditPage);
    if (!entries) return log::error("controlplane.vitals_audit_failed", {{"error", entries.error().describe()}});
    for (const auto& e : *entries) {
        audit_seen_ = e.id;
        auto a = store_.alarm(e.alarm_id);
        if (!a) continue;  // purged since: nothing to show
        announce_alarm(*a, e.action == "acknowledge" ? "acknowledged" : e.action == "silence" ? "silenced" : "escalated");
    }
}

}  // namespace hisgate::controlplane::vitals
