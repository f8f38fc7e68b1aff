#include "agent-swarm/light_agent.h"

#include <algorithm>

#include "adapters/his_adapter.h"
#include "agent/request_types.h"
#include "common/digest.h"
#include "common/utc_time.h"
#include "common/version.h"
#include "transport/envelope.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::swarm {

namespace {
// What the agent's task would have answered, made up: a report for report.get, otherwise
// the request's own keys back with a status, enough for a caller to tell it was answered.
nlohmann::json canned_result(const Envelope& request) {
    if (request.type == "report.get") {
        Report r;
        r.report_id = request.body.value("reportId", "R-SIM");
        r.patient_id = "P-SIM";
        r.title = "Simulated report";
        r.status = "final";
        r.issued_at = iso_utc_now();
        return r.to_json();
    }
    nlohmann::json out = {{"status", "simulated"}};
    for (const char* key : {"orderId", "patientId", "reportId", "date"})
        if (auto it = request.body.find(key); it != request.body.end() && it->is_string()) out[key] = *it;
    return out;
}

OutgoingMessage reply_to(const IncomingMessage& request, std::string payload) {
    OutgoingMessage out = OutgoingMessage::to(request.response_topic, std::move(payload));
    out.correlation_data = request.correlation_data;
    return out;
}
}  // namespace

namespace {
constexpr const char* kSimProbe = "sim.report";
nlohmann::json probe_summary(bool passing) {
    return {{kSimProbe, {{"outcome", passing ? "ok" : "failed"}, {"availability1h", passing ? 1.0 : 0.0}}}};
}
}  // namespace

nlohmann::json simulated_description(const std::string& release, const nlohmann::json& params_file) {
    auto capabilities = agent::advertised_capabilities();
    // The updater's and the rollout gate's tasks, unless this build's table has them already.
    for (const char* type : {"release.install", "params.get"}) {
        bool listed = false;
        for (const auto& c : capabilities) listed |= c.value("type", "") == type;
        if (!listed) capabilities.push_back({{"type", type}, {"class", "realtime"}, {"changesHis", false}});
    }
    return {{"region", "sim"},
            {"version", release.empty() ? std::string(version()) : release},
            {"protocol", {{"min", Envelope::kMinSchema}, {"max", Envelope::kMaxSchema}}},
            {"adapter", "simulated"},
            {"paramsHash", params_file.is_object() ? sha256_hex(params_file.dump()) : std::string(64, '0')},
            {"capabilities", std::move(capabilities)},
            {"caps", {{"concurrency", 4}, {"ratePerMinute", 600}}},
            {"probes", probe_summary(true)}};
}

void LightAgent::apply_restart() {
    restart_at_ms_ = 0;
    description_["version"] = pending_version_;
    description_["probes"] = probe_summary(!broken_);
    if (broken_ && !rollback_version_.empty()) {
        // The updater's health gate fails on the new version and it rolls back by itself.
        pending_version_ = rollback_version_;
        rollback_version_.clear();
        broken_ = false;
        restart_at_ms_ = -1;  // armed by the next session (below)
    }
}

LightAgent::LightAgent(std::string hospital_id, const nlohmann::json& description, int64_t session_base)
    : hospital_id_(std::move(hospital_id)), description_(description), session_(session_base) {
    description_["name"] = "Simulated hospital " + hospital_id_;
}

OutgoingMessage LightAgent::state(bool online, bool heartbeat) {
    nlohmann::json body = description_;
    body["online"] = online;
    body["session"] = session_;
    body["seq"] = ++seq_;
    if (online) body["queue"] = {{"depth", 0}, {"oldestSeconds", 0.0}, {"dwellP99Seconds", 0.0}, {"businesses", nlohmann::json::object()}};
    if (heartbeat) body["heartbeatAt"] = iso_utc_now();
    return OutgoingMessage::to(topics::state(hospital_id_), Envelope::make("state", hospital_id_, std::move(body)).to_json(),
                               true);
}

LightAgent::Presence LightAgent::next_session() {
    if (restart_at_ms_ > 0) apply_restart();  // a connection the restart ended (or one lost meanwhile)
    ++session_;
    // The will first, then the birth: the birth's sequence number is the newer one.
    auto will = state(false, false);
    auto birth = state(true, false);
    return {std::move(will), std::move(birth)};
}

OutgoingMessage LightAgent::heartbeat() { return state(true, true); }

std::vector<OutgoingMessage> LightAgent::answer(const IncomingMessage& msg, int64_t now_ms) {
    std::vector<OutgoingMessage> out;
    const bool can_answer = !msg.response_topic.empty() && topics::valid_response_topic(msg.response_topic, hospital_id_);
    if (!can_answer || msg.correlation_data.size() > limits::kCorrelationBytes) return out;  // nowhere to answer
    auto request = Envelope::parse(msg.payload, limits::kRequestBytes);
    auto refuse = [&](const Envelope& shell, const Error& e) {
        out.push_back(reply_to(msg, shell.reply_error(e).to_json()));
        return out;
    };
    if (!request) return refuse(Envelope::make("error", hospital_id_), request.error());
    if (auto too_long = limits::oversized_field(request->body, "body", "request.too_long")) return refuse(*request, *too_long);
    if (request->hospital_id != hospital_id_)
        return refuse(*request, make_error(ErrorClass::BadInput, "request.wrong_hospital",
                                           "request addressed to hospital " + request->hospital_id +
                                               " arrived at the agent of " + hospital_id_));
    if (request->type == "control.refused") return out;
    if (request->type == "release.install" && release_) {
        const std::string to = request->body.value("version", "");
        auto listed = [](const std::vector<std::string>& v, const std::string& x) {
            return std::find(v.begin(), v.end(), x) != v.end();
        };
        const bool broken = listed(release_->broken_versions, to) || listed(release_->broken_hospitals, hospital_id_);
        if (broken && release_->mode == "silent") return out;
        broken_ = broken;
        pending_version_ = to;
        rollback_version_ = broken && release_->mode == "rollback" ? description_.value("version", "") : "";
        restart_at_ms_ = std::max<int64_t>(now_ms + release_->delay_ms, 1);
        out.push_back(reply_to(msg, request->reply({{"accepted", true}}).to_json()));
        return out;
    }
    if (request->type == "params.get" && release_ && release_->params_file.is_object()) {
        out.push_back(reply_to(msg, request->reply({{"params", release_->params_file}}).to_json()));
        return out;
    }
    if (!agent::find_request_type(request->type))
        return refuse(*request, make_error(ErrorClass::BadInput, "request.unknown_type",
                                           "this agent does not serve requests of type \"" + request->type + "\""));
    if (request->ack_stored) out.push_back(reply_to(msg, request->stored_ack().to_json()));
    out.push_back(reply_to(msg, request->reply(canned_result(*request)).to_json()));
    return out;
}

}  // namespace hisgate::swarm
