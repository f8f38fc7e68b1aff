// A real Mosquitto for a test, on a free loopback port, in its own directory: password
// authentication, the production ACL (broker/hisgate.acl: each role only what it needs,
// each hospital only inside its own subtree), client ids tied to user names
// (use_username_as_clientid: one connection per user), and optionally TLS with a
// throwaway CA made for the test.
#pragma once

#include <string>
#include <vector>

#include "tests/support/process.h"
#include "transport/mqtt_link.h"

namespace hisgate::test {

class Broker {
public:
    // `users`: usernames to create. "controlplane" and "controlplane-<name>" have the
    // control plane's rights (a test client beside a running control plane needs a user
    // of its own); "forge-<hid>" may write hospital <hid>'s state topic (to inject stale or
    // forged presence beside its live agent); any other name is a hospital id with an
    // agent's rights in its subtree.
    Broker(std::vector<std::string> users, bool tls);
    ~Broker();

    bool start();
    void stop();
    void kill9();
    bool restart();  // same port, same users

    std::string uri() const;
    uint16_t port() const { return port_; }
    pid_t pid() const { return process_.pid(); }  // -1 when not started
    const std::string& dir() const { return dir_; }
    std::string password_file(const std::string& user) const { return dir_ + "/" + user + ".password"; }
    std::string password(const std::string& user) const;
    std::string ca_file() const { return dir_ + "/ca.crt"; }
    // The "broker" section of a hisgate config for `user`.
    std::string config_json(const std::string& user) const;
    // Options for an MqttLink of the test's own, connecting as `user`.
    MqttOptions mqtt_options(const std::string& user, std::string client_id) const;

private:
    std::vector<std::string> users_;
    bool tls_;
    std::string dir_;
    uint16_t port_;
    Process process_;
};

}  // namespace hisgate::test
