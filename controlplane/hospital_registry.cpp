#include "controlplane/hospital_registry.h"

#include "common/log.h"
#include "common/metrics.h"
#include "transport/envelope.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {
Error reject(const IncomingMessage& msg, Error e) {
    log::warn("registry.state_rejected", {{"topic", msg.topic}, {"error", e.describe()}});
    metrics::global()
        .counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed",
                 {{"kind", "state"}})
        .inc();
    return e;
}
}  // namespace

Result<void> HospitalRegistry::apply_state(const IncomingMessage& msg) {
    auto topic_hospital = topics::hospital_of(msg.topic);
    if (!topic_hospital)
        return reject(msg, make_error(ErrorClass::BadInput, "state.bad_topic", "not a hospital state topic"));
    if (msg.payload.empty()) {  // a cleared retained message: forget the hospital
        std::lock_guard lock(mu_);
        hospitals_.erase(*topic_hospital);
        return {};
    }
    auto env = Envelope::parse(msg.payload, limits::kStateBytes);
    if (!env) return reject(msg, env.error());
    if (env->hospital_id != *topic_hospital)
        return reject(msg, make_error(ErrorClass::BadInput, "state.foreign_hospital",
                                      "state for hospital " + env->hospital_id + " published on the topic of " +
                                          *topic_hospital));
    auto online = env->body.find("online");
    if (online == env->body.end() || !online->is_boolean())
        return reject(msg, make_error(ErrorClass::BadInput, "state.invalid", "body.online must be true or false"));

    std::lock_guard lock(mu_);
    auto& h = hospitals_[*topic_hospital];
    bool was_online = h.online;
    h.hospital_id = *topic_hospital;
    h.online = online->get<bool>();
    h.birth = env->body;
    h.updated_at = env->sent_at;
    if (was_online != h.online)
        log::info(h.online ? "registry.hospital_online" : "registry.hospital_offline", {{"hospital_id", h.hospital_id}});
    return {};
}

std::optional<HospitalState> HospitalRegistry::find(const std::string& hospital_id) const {
    std::lock_guard lock(mu_);
    auto it = hospitals_.find(hospital_id);
    if (it == hospitals_.end()) return std::nullopt;
    return it->second;
}

std::vector<HospitalState> HospitalRegistry::online() const {
    std::lock_guard lock(mu_);
    std::vector<HospitalState> out;
    for (const auto& [_, h] : hospitals_)
        if (h.online) out.push_back(h);
    return out;
}

}  // namespace hisgate::controlplane
