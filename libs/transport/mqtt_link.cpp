#include "transport/mqtt_link.h"

#include <mqtt/async_client.h>

#include <random>

#include "common/log.h"
#include "common/metrics.h"
#include "common/trace.h"
#include "transport/backoff.h"
#include "transport/tcp_nodelay.h"

namespace hisgate {

namespace {
mqtt::message_ptr to_paho(const OutgoingMessage& m) {
    auto msg = mqtt::make_message(m.topic, m.payload, m.qos, m.retained);
    mqtt::properties props;
    if (!m.response_topic.empty()) props.add({mqtt::property::RESPONSE_TOPIC, m.response_topic});
    if (!m.correlation_data.empty()) props.add({mqtt::property::CORRELATION_DATA, m.correlation_data});
    if (m.expiry_seconds > 0) props.add({mqtt::property::MESSAGE_EXPIRY_INTERVAL, static_cast<int32_t>(m.expiry_seconds)});
    std::string tp = m.traceparent.empty() && current_trace().valid() ? current_trace().traceparent() : m.traceparent;
    if (!tp.empty()) props.add({mqtt::property::USER_PROPERTY, std::string("traceparent"), tp});
    msg->set_properties(props);
    return msg;
}

IncomingMessage from_paho(const mqtt::const_message_ptr& msg) {
    IncomingMessage in;
    in.topic = msg->get_topic();
    in.payload = msg->to_string();
    in.retained = msg->is_retained();
    const auto& props = msg->get_properties();
    if (props.contains(mqtt::property::RESPONSE_TOPIC))
        in.response_topic = mqtt::get<std::string>(props, mqtt::property::RESPONSE_TOPIC);
    if (props.contains(mqtt::property::CORRELATION_DATA))
        in.correlation_data = mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA);
    for (size_t i = 0; i < props.count(mqtt::property::USER_PROPERTY); ++i) {
        auto [name, value] = mqtt::get<mqtt::string_pair>(props, mqtt::property::USER_PROPERTY, i);
        if (name == "traceparent") in.traceparent = value;
    }
    return in;
}

metrics::Counter& reconnects() {
    return metrics::global().counter("hisgate_mqtt_reconnects_total", "MQTT connections re-established after a loss");
}
metrics::Gauge& connected_gauge() {
    return metrics::global().gauge("hisgate_mqtt_connected", "1 while the MQTT connection is up");
}
}  // namespace

MqttOptions mqtt_options(const BrokerSettings& b, std::string client_id) {
    MqttOptions o;
    o.uri = b.uri;
    o.client_id = std::move(client_id);
    o.username = b.username;
    o.password = b.password;
    o.ca_file = b.ca_file;
    o.cert_file = b.cert_file;
    o.key_file = b.key_file;
    return o;
}

MqttLink::MqttLink(MqttOptions options) : options_(std::move(options)) {
    reconnects();  // exported as 0 from the start, not only after the first loss
    client_ = options_.inflight_dir.empty()
                  ? std::make_unique<mqtt::async_client>(options_.uri, options_.client_id, mqtt::create_options(MQTTVERSION_5))
                  : std::make_unique<mqtt::async_client>(options_.uri, options_.client_id,
                                                         mqtt::create_options(MQTTVERSION_5), options_.inflight_dir);
    // Two ways a connection ends: the socket is lost, or (MQTT 5) the broker sends
    // DISCONNECT with a reason (a session taken over, a packet it refused). Paho reports
    // the second only to the disconnected handler; both must end the connection here.
    client_->set_connection_lost_handler([this](const std::string& cause) { lost(cause); });
    client_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
        lost("the broker disconnected us (MQTT 5 reason code " + std::to_string(static_cast<int>(reason)) + ")");
    });
    client_->set_message_callback([this](mqtt::const_message_ptr msg) {
        if (message_handler_) message_handler_(from_paho(msg));
    });
}

MqttLink::~MqttLink() { stop(); }

void MqttLink::lost(const std::string& cause) {
    {
        std::lock_guard lock(mu_);
        connected_ = false;
        ++losses_;
    }
    connected_gauge().set(0);
    log::warn("mqtt.connection_lost", {{"client_id", options_.client_id}, {"cause", cause}});
    cv_.notify_all();
}

void MqttLink::subscribe(std::string filter, int qos) { subscriptions_.emplace_back(std::move(filter), qos); }
void MqttLink::on_message(MessageHandler handler) { message_handler_ = std::move(handler); }
void MqttLink::on_connected(std::function<void()> handler) { connected_handler_ = std::move(handler); }

void MqttLink::set_birth(OutgoingMessage birth) {
    std::lock_guard lock(mu_);
    options_.birth = std::move(birth);
}

void MqttLink::on_connecting(PresenceMaker maker) { connecting_handler_ = std::move(maker); }

void MqttLink::start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void MqttLink::stop(std::optional<OutgoingMessage> farewell) {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        running_ = false;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    try {
        if (client_->is_connected()) {
            if (farewell) client_->publish(to_paho(*farewell))->wait_for(std::chrono::seconds(2));
            client_->disconnect()->wait_for(std::chrono::seconds(2));
        }
    } catch (const mqtt::exception& e) {
        log::warn("mqtt.disconnect_failed", {{"error", e.what()}});
    }
    connected_gauge().set(0);
}

std::chrono::milliseconds MqttLink::next_backoff(int attempt) {
    thread_local std::mt19937 rng{std::random_device{}()};
    return jittered_backoff(attempt, options_.backoff_min, options_.backoff_max, rng);
}

bool MqttLink::try_connect() {
    std::optional<OutgoingMessage> will, birth;
    {
        std::lock_guard lock(mu_);
        will = options_.will;
        birth = options_.birth;
    }
    if (connecting_handler_) {
        connecting_handler_(will, birth);
        std::lock_guard lock(mu_);
        options_.will = will;
        options_.birth = birth;
    }
    auto builder = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_5)
                       .clean_start(options_.session_expiry.count() == 0)
                       .keep_alive_interval(options_.keepalive)
                       .connect_timeout(std::chrono::seconds(5));
    if (options_.session_expiry.count() > 0)
        builder.properties(mqtt::properties{
            {mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int32_t>(options_.session_expiry.count())}});
    if (!options_.username.empty()) builder.user_name(options_.username).password(options_.password);
    if (will) {
        auto paho_will = to_paho(*will);
        builder.will(mqtt::message(paho_will->get_topic(), paho_will->get_payload(), paho_will->get_qos(),
                                   paho_will->is_retained()));
    }
    if (options_.uri.rfind("ssl://", 0) == 0 || options_.uri.rfind("mqtts://", 0) == 0) {
        auto ssl = mqtt::ssl_options_builder().trust_store(options_.ca_file).enable_server_cert_auth(true).verify(true);
        if (!options_.cert_file.empty()) ssl.key_store(options_.cert_file).private_key(options_.key_file);
        builder.ssl(ssl.finalize());
    }
    // Every step is bounded: a connection lost between CONNACK and SUBACK (another client
    // taking the session over, say) leaves a token that never completes, and an unbounded
    // wait would stop this link for good.
    const auto step_timeout = std::chrono::seconds(10);
    auto finished = [&](const mqtt::token_ptr& token, const char* step) {
        if (!token->wait_for(step_timeout))
            throw mqtt::exception(MQTTASYNC_OPERATION_INCOMPLETE, std::string(step) + " not acknowledged within 10 s");
        return token->get_return_code() == MQTTASYNC_SUCCESS;
    };
    try {
        if (!finished(client_->connect(builder.finalize()), "CONNECT"))
            throw mqtt::exception(MQTTASYNC_FAILURE, "CONNECT refused");
        disable_nagle_towards(options_.uri);
        for (const auto& [filter, qos] : subscriptions_) finished(client_->subscribe(filter, qos), "SUBSCRIBE");
        if (birth) finished(client_->publish(to_paho(*birth)), "PUBLISH of the birth");
        return true;
    } catch (const mqtt::exception& e) {
        log::warn("mqtt.connect_failed", {{"client_id", options_.client_id}, {"uri", options_.uri}, {"error", e.what()}});
        try {
            if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
        } catch (const mqtt::exception&) {
        }
        return false;
    }
}

void MqttLink::run() {
    int attempt = 0;
    std::unique_lock lock(mu_);
    while (running_) {
        if (connected_) {
            cv_.wait(lock, [this] { return !running_ || !connected_; });
            continue;
        }
        // A loss reported while connecting (between the CONNACK and our bookkeeping) must
        // not be overwritten by "connected": count losses and compare.
        uint64_t losses_before = losses_;
        lock.unlock();
        bool ok = try_connect();
        lock.lock();
        // (Never ask Paho anything while holding mu_: its callback thread holds Paho's lock
        // while it waits for mu_ in lost().)
        if (ok && losses_ != losses_before) {
            log::warn("mqtt.lost_while_connecting", {{"client_id", options_.client_id}});
            ok = false;
        }
        if (ok) {
            connected_ = true;
            attempt = 0;
            if (ever_connected_) reconnects().inc();
            ever_connected_ = true;
            connected_gauge().set(1);
            log::info("mqtt.connected", {{"client_id", options_.client_id}, {"uri", options_.uri}});
            cv_.notify_all();
            if (connected_handler_) {
                lock.unlock();
                connected_handler_();
                lock.lock();
            }
        } else {
            auto wait = next_backoff(attempt++);
            cv_.wait_for(lock, wait, [this] { return !running_; });
        }
    }
}

Result<void> MqttLink::publish(const OutgoingMessage& msg) {
    try {
        if (!client_->is_connected())
            return make_error(ErrorClass::Unavailable, "mqtt.disconnected", "not connected to the broker " + options_.uri);
        auto token = client_->publish(to_paho(msg));
        if (!token->wait_for(std::chrono::seconds(5)))
            return make_error(ErrorClass::Timeout, "mqtt.publish_unacknowledged",
                              "the broker did not acknowledge a message to " + msg.topic + " within 5 s");
        // MQTT 5: a PUBACK reason code of 0x80 or more means the broker refused it.
        if (msg.qos > 0 && token->get_reason_code() >= 0x80)
            return make_error(ErrorClass::Rejected, "mqtt.publish_refused",
                              "the broker refused a message to " + msg.topic + " (reason code " +
                                  std::to_string(static_cast<int>(token->get_reason_code())) + ")");
        return {};
    } catch (const mqtt::exception& e) {
        return make_error(ErrorClass::Unavailable, "mqtt.publish_failed",
                          "publish to " + msg.topic + " failed: " + std::string(e.what()));
    }
}

bool MqttLink::connected() const {
    std::lock_guard lock(mu_);
    return connected_;
}

bool MqttLink::wait_connected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return connected_; });
}

}  // namespace hisgate
