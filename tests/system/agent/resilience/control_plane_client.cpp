#include "control_plane_client.h"

#include "common/trace.h"
#include "tests/support/process.h"
#include "transport/topics.h"

namespace hisgate::test {

namespace {
MqttOptions options_for(Broker& broker) {
    MqttOptions o = broker.mqtt_options("controlplane-test", "controlplane-test");
    // Like the real control plane: answers sent while this client is away wait in the broker.
    o.session_expiry = std::chrono::seconds(600);
    return o;
}
}  // namespace

ControlPlaneClient::ControlPlaneClient(Broker& broker, std::string hospital_id)
    : hospital_id_(std::move(hospital_id)),
      response_topic_(topics::response(hospital_id_, "test")),
      link_(options_for(broker)) {
    link_.subscribe(response_topic_, 1);
    link_.subscribe(topics::event(hospital_id_), 1);
    link_.subscribe(topics::state(hospital_id_), 1);
    link_.on_message([this](const IncomingMessage& m) { on_message(m); });
}

ControlPlaneClient::~ControlPlaneClient() { link_.stop(); }

bool ControlPlaneClient::connect() {
    link_.start();
    return link_.wait_connected(std::chrono::seconds(10));
}

void ControlPlaneClient::on_message(const IncomingMessage& m) {
    auto env = Envelope::parse(m.payload);
    if (!env) return;
    std::lock_guard lock(mu_);
    if (m.topic == response_topic_) {
        if (!answers_.emplace(env->in_reply_to, *env).second) ++duplicates_;
    } else if (m.topic == topics::event(hospital_id_)) {
        events_.push_back(*env);
    } else {
        states_.push_back(*env);
    }
}

Result<void> ControlPlaneClient::send(const Envelope& request) {
    OutgoingMessage out = OutgoingMessage::to(topics::request(hospital_id_), request.to_json());
    out.response_topic = response_topic_;
    out.correlation_data = request.id;
    return link_.publish(out);
}

std::optional<Envelope> ControlPlaneClient::ask(const std::string& type, nlohmann::json body,
                                                std::chrono::milliseconds patience) {
    return ask(Envelope::make(type, hospital_id_, std::move(body)), patience);
}

std::optional<Envelope> ControlPlaneClient::ask(const Envelope& request, std::chrono::milliseconds patience) {
    if (!send(request)) return std::nullopt;
    std::optional<Envelope> answer;
    eventually([&] {
        std::lock_guard lock(mu_);
        auto it = answers_.find(request.id);
        if (it != answers_.end()) answer = it->second;
        return answer.has_value();
    }, patience);
    return answer;
}

size_t ControlPlaneClient::answered() {
    std::lock_guard lock(mu_);
    return answers_.size();
}
size_t ControlPlaneClient::duplicates() {
    std::lock_guard lock(mu_);
    return duplicates_;
}
std::map<std::string, Envelope> ControlPlaneClient::answers() {
    std::lock_guard lock(mu_);
    return answers_;
}
std::vector<Envelope> ControlPlaneClient::events() {
    std::lock_guard lock(mu_);
    return events_;
}
std::vector<Envelope> ControlPlaneClient::states() {
    std::lock_guard lock(mu_);
    return states_;
}

}  // namespace hisgate::test
