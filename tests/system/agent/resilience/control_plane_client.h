// The test's stand-in for the control plane's MQTT side: it sends requests to one
// hospital's agent as the "controlplane" broker user, collects the answers by request id
// (counting duplicates), and watches the hospital's event and state topics.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/broker.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate::test {

class ControlPlaneClient {
public:
    ControlPlaneClient(Broker& broker, std::string hospital_id);
    ~ControlPlaneClient();

    bool connect();
    // Sends `request` once (QoS 1, to the hospital's request topic).
    Result<void> send(const Envelope& request);
    // Sends a request of `type` to the hospital and waits for its answer: nullopt when it
    // could not be sent or no answer came within `patience`.
    std::optional<Envelope> ask(const std::string& type, nlohmann::json body, std::chrono::milliseconds patience);
    // The same for a request made by the caller (its own id: a late copy of one sent before).
    std::optional<Envelope> ask(const Envelope& request, std::chrono::milliseconds patience);

    size_t answered();
    size_t duplicates();
    std::map<std::string, Envelope> answers();
    std::vector<Envelope> events();
    std::vector<Envelope> states();

private:
    void on_message(const IncomingMessage& m);

    std::string hospital_id_;
    std::string response_topic_;
    MqttLink link_;
    std::mutex mu_;
    std::map<std::string, Envelope> answers_;
    size_t duplicates_ = 0;
    std::vector<Envelope> events_, states_;
};

}  // namespace hisgate::test
