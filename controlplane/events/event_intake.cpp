#include "controlplane/events/event_intake.h"

#include "common/check.h"
#include "common/log.h"
#include "common/metrics.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane::events {

namespace {
bool known(const std::string& type) {
    for (const char* k : kEventTypes)
        if (type == k) return true;
    return false;
}

void count(const std::string& type) {
    metrics::global()
        .counter("hisgate_controlplane_events_total",
                 "Agent events received, by type (unknown, unreadable and repeated ones too)", {{"type", type}})
        .inc();
}
}  // namespace

void EventIntake::on(const std::string& type, Consumer consumer) {
    HISGATE_CHECK(known(type), "type", type);
    consumers_[type].push_back(std::move(consumer));
}

void EventIntake::take(const IncomingMessage& m) {
    auto hospital = topics::hospital_of(m.topic);
    auto env = Envelope::parse(m.payload, limits::kEventBytes);
    if (!hospital || !env || env->hospital_id != *hospital) {
        count("unreadable");
        log::warn("controlplane.event_rejected",
                  {{"topic", m.topic}, {"reason", !env ? env.error().describe() : "not the topic's hospital"}});
        return;
    }
    if (!known(env->type)) {
        count("unknown");
        log::warn("controlplane.unknown_event", {{"hospital_id", *hospital}, {"type", env->type}});
        return;
    }
    // A claim the store cannot answer lets the event through: counting one twice is the
    // lesser harm than losing it.
    auto first = seen_.claim(*hospital, env->id);
    if (!first)
        log::warn("controlplane.event_not_claimed", {{"hospital_id", *hospital}, {"error", first.error().describe()}});
    else if (!*first) {
        count("repeated");
        log::info("controlplane.event_repeated", {{"hospital_id", *hospital}, {"type", env->type}, {"event_id", env->id}});
        return;
    }
    count(env->type);
    AgentEvent event{*hospital, std::move(*env), m.traceparent};
    auto it = consumers_.find(event.envelope.type);
    if (it == consumers_.end()) return;
    for (const auto& consume : it->second) consume(event);
}

}  // namespace hisgate::controlplane::events
