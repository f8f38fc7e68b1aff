#include "tests/support/broker.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "tests/support/certificates.h"
#include "transport/limits.h"

namespace hisgate::test {

namespace {
int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string random_password() {
    std::mt19937_64 rng{std::random_device{}()};
    std::string p;
    for (int i = 0; i < 24; ++i) p.push_back("abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36]);
    return p;
}
}  // namespace

Broker::Broker(std::vector<std::string> users, bool tls)
    : users_(std::move(users)), tls_(tls), dir_(make_temp_dir("hisgate-broker")), port_(free_port()) {
    // Every user in one plain-text file, hashed in place by one mosquitto_passwd run: one
    // run per user costs ~50 ms, minutes for the fleet-scale benchmark's 10,000 agents.
    std::string passwd = dir_ + "/passwd";
    std::string plain;
    for (const auto& u : users_) {
        std::string pw = random_password();
        write_file(password_file(u), pw + "\n");
        plain += u + ":" + pw + "\n";
    }
    write_file(passwd, plain);
    if (!users_.empty() && sh("mosquitto_passwd -U " + passwd + " >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "mosquitto_passwd -U %s failed\n", passwd.c_str());
        std::abort();
    }
    // The production ACL, and the control plane's stanza again for each further control plane user.
    std::string acl = read_file(std::string(HISGATE_SOURCE_DIR) + "/broker/hisgate.acl");
    auto stanza_at = acl.find("user controlplane\n");
    auto stanza_end = acl.find("\n\n", stanza_at);
    if (stanza_at == std::string::npos || stanza_end == std::string::npos) {
        std::fprintf(stderr, "broker/hisgate.acl has no \"user controlplane\" stanza\n");
        std::abort();
    }
    std::string rights = acl.substr(stanza_at + 18, stanza_end + 1 - (stanza_at + 18));
    for (const auto& u : users_)
        if (u.rfind("controlplane-", 0) == 0) acl += "\nuser " + u + "\n" + rights;
    // Tests only: "forge-<hid>" may write <hid>'s state, beside its live agent (whose user it
    // cannot share: one connection per user), to inject stale or forged presence.
    for (const auto& u : users_)
        if (u.rfind("forge-", 0) == 0) acl += "\nuser " + u + "\ntopic write hisgate/v1/hospitals/" + u.substr(6) + "/state\n";
    write_file(dir_ + "/acl", acl);
    // Mosquitto started as root drops to another user unless told to stay who it is.
    std::string conf = "user " + std::string(getpwuid(getuid())->pw_name) + "\nlistener " + std::to_string(port_) + " 127.0.0.1\nallow_anonymous false\nuse_username_as_clientid true\npassword_file " +
                       passwd + "\nacl_file " + dir_ + "/acl\npersistence true\npersistence_location " + dir_ + "/\nmax_queued_messages 100000\nset_tcp_nodelay true\nlog_dest file " + dir_ +
                       "/mosquitto.log\nmessage_size_limit " + std::to_string(limits::kBrokerMessageBytes) + "\n";
    if (tls_) {
        make_test_certificates(dir_, "broker");
        conf += "cafile " + dir_ + "/ca.crt\ncertfile " + dir_ + "/broker.crt\nkeyfile " + dir_ + "/broker.key\n";
    }
    write_file(dir_ + "/mosquitto.conf", conf);
}

Broker::~Broker() {
    stop();
    sh("rm -rf " + dir_);
}

bool Broker::start() {
    process_ = Process({"/usr/sbin/mosquitto", "-c", dir_ + "/mosquitto.conf"}, dir_ + "/stdout.txt");
    if (process_.start() && wait_port_open(port_, std::chrono::milliseconds(10000))) return true;
    std::fprintf(stderr, "mosquitto did not start:\n%s\n%s\n", process_.output().c_str(),
                 read_file(dir_ + "/mosquitto.log").c_str());
    return false;
}

void Broker::stop() { process_.stop(); }
void Broker::kill9() { process_.kill9(); }

bool Broker::restart() {
    stop();
    return start();
}

std::string Broker::uri() const { return (tls_ ? "ssl://127.0.0.1:" : "tcp://127.0.0.1:") + std::to_string(port_); }

MqttOptions Broker::mqtt_options(const std::string& user, std::string client_id) const {
    MqttOptions o;
    o.uri = uri();
    o.client_id = std::move(client_id);
    o.username = user;
    o.password = password(user);
    o.ca_file = tls_ ? ca_file() : "";
    return o;
}

std::string Broker::password(const std::string& user) const {
    std::string p = read_file(password_file(user));
    while (!p.empty() && p.back() == '\n') p.pop_back();
    return p;
}

std::string Broker::config_json(const std::string& user) const {
    std::string s = "{\"uri\": \"" + uri() + "\", \"username\": \"" + user + "\", \"password_file\": \"" +
                    password_file(user) + "\"";
    if (tls_) s += ", \"ca_file\": \"" + ca_file() + "\"";
    return s + "}";
}

}  // namespace hisgate::test
