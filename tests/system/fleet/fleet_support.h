// What the fleet tests share: a test MQTT client as a broker user, the fleet as the API
// shows it, a control plane metric.
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"
#include "transport/mqtt_link.h"

namespace hisgate::test {

inline MqttOptions as_user(Broker& b, const std::string& user) {
    MqttOptions o;
    o.uri = b.uri();
    o.client_id = user;
    o.username = user;
    o.password = b.password(user);
    o.ca_file = b.ca_file();
    return o;
}

// GET /api/v1/fleet/{id} as an operator: the hospital, or null.
inline nlohmann::json fleet_hospital(System& sys, const std::string& id) {
    auto reply = sys.get("/api/v1/fleet/" + id);
    if (reply.status != 200) return nullptr;
    return nlohmann::json::parse(reply.body, nullptr, false);
}

inline double cp_metric(System& sys, const std::string& series) {
    return metric_value(sys.get("/metrics").body, series);
}

}  // namespace hisgate::test
