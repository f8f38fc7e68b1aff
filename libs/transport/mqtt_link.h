// One MQTT 5 connection (Paho C++) that stays up by itself.
//
// - Reconnects forever with exponential backoff and full jitter, so a fleet of agents
//   does not reconnect in lockstep after a broker restart.
// - Remembers its subscriptions and renews them on every (clean-start) connection.
// - Publishes the birth message (retained) on every connection; the broker publishes the
//   last will if the connection dies without a clean disconnect.
// - Every outgoing message carries a W3C traceparent user property (the current trace, or
//   the one given), so the receiving side can continue the trace.
// Only standard MQTT 5 features are used, so any MQTT 5 broker works.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/settings.h"

namespace mqtt {
class async_client;
}

namespace hisgate {

struct OutgoingMessage {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retained = false;
    std::string response_topic;
    std::string correlation_data;
    uint32_t expiry_seconds = 0;  // 0 = never expires
    std::string traceparent;      // empty = the current thread's trace

    static OutgoingMessage to(std::string topic, std::string payload, bool retained = false) {
        OutgoingMessage m;
        m.topic = std::move(topic);
        m.payload = std::move(payload);
        m.retained = retained;
        return m;
    }
};

struct IncomingMessage {
    std::string topic;
    std::string payload;
    std::string response_topic;
    std::string correlation_data;
    std::string traceparent;
    bool retained = false;
};

struct MqttOptions {
    std::string uri = "tcp://127.0.0.1:1883";  // ssl://host:port for TLS
    std::string client_id;
    std::string username;
    std::string password;
    std::string ca_file;    // TLS: the CA that signed the broker's certificate
    std::string cert_file;  // TLS client certificate (optional)
    std::string key_file;
    std::chrono::milliseconds backoff_min{200};
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::seconds keepalive{10};
    // 0: a clean session on every connection. Above 0: the broker keeps the session (its
    // subscriptions and the QoS 1 messages for it) this long after a disconnect, so
    // nothing addressed to this client is dropped while it or the broker restarts.
    // Needs a stable client id.
    std::chrono::seconds session_expiry{0};
    // Non-empty: Paho keeps every message that arrives in files under this directory from
    // its arrival (before the broker is acknowledged) until the message handler returns,
    // and hands what a crash left there to the handler again at the next start. MQTT
    // acknowledges a QoS 1 message on arrival and Paho offers no manual acknowledgement, so
    // this is how a receiver whose handler returns only once the message is durable loses
    // nothing to a kill -9. (The files are written, not fsync'ed: a process crash is
    // covered, a power cut inside that window is not.) Empty: in memory only.
    std::string inflight_dir;
    std::optional<OutgoingMessage> will;
    std::optional<OutgoingMessage> birth;
};

// The options for connecting with a config file's "broker" section.
MqttOptions mqtt_options(const BrokerSettings& broker, std::string client_id);

class MqttLink {
public:
    using MessageHandler = std::function<void(const IncomingMessage&)>;

    explicit MqttLink(MqttOptions options);
    ~MqttLink();
    MqttLink(const MqttLink&) = delete;
    MqttLink& operator=(const MqttLink&) = delete;

    // Call before start(). Handlers run on the MQTT client's thread: keep them short, and
    // never wait there for anything that needs this link (a publish waits for its PUBACK,
    // which that thread reads). A message counts as handled when its handler returns.
    void subscribe(std::string filter, int qos = 1);
    void on_message(MessageHandler handler);
    void on_connected(std::function<void()> handler);
    void set_birth(OutgoingMessage birth);  // replaces the birth published on the next connection
    // Called on the link's thread before every connection attempt: may replace the will and
    // the birth of that connection (each connection of an agent has a presence session of
    // its own, carried in both: agent/agent.cpp). Call before start().
    using PresenceMaker = std::function<void(std::optional<OutgoingMessage>& will, std::optional<OutgoingMessage>& birth)>;
    void on_connecting(PresenceMaker maker);

    void start();
    // Publishes `farewell` (if given) and disconnects cleanly; the will is not sent.
    void stop(std::optional<OutgoingMessage> farewell = std::nullopt);

    Result<void> publish(const OutgoingMessage& msg);
    bool connected() const;
    // Blocks until connected or the timeout passes; true if connected.
    bool wait_connected(std::chrono::milliseconds timeout);

private:
    void run();
    bool try_connect();
    void lost(const std::string& cause);  // the connection ended, whichever way Paho said so
    std::chrono::milliseconds next_backoff(int attempt);

    MqttOptions options_;
    std::unique_ptr<mqtt::async_client> client_;
    std::vector<std::pair<std::string, int>> subscriptions_;
    MessageHandler message_handler_;
    std::function<void()> connected_handler_;
    PresenceMaker connecting_handler_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool running_ = false;
    bool connected_ = false;
    bool ever_connected_ = false;
    uint64_t losses_ = 0;  // connections ended so far; a loss during a connect attempt shows here
    std::thread thread_;
};

}  // namespace hisgate
