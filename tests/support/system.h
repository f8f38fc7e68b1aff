// The whole system as real processes for end-to-end tests: Mosquitto (TLS, ACL), one
// his-sim and one agent per hospital, and one control plane, each on free loopback ports
// with its own config and JSON-lines log in a temporary directory.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/client_session.h"
#include "tests/support/broker.h"
#include "tests/support/process.h"

namespace hisgate::test {

struct HttpReply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // one value per name (the last)
    std::vector<std::string> set_cookies;          // every Set-Cookie header, in order

    // The "code" of a JSON error body; empty when the body is not one.
    std::string code() const;
};

// GET http://127.0.0.1:port/path; status 0 if the connection failed.
HttpReply http_get(uint16_t port, const std::string& path, const std::map<std::string, std::string>& headers = {});
// GET over any endpoint (HTTPS when it has a TLS context); status 0 if it failed.
HttpReply http_get_at(const HttpEndpoint& at, const std::string& path, const std::map<std::string, std::string>& headers = {});
// PUT/POST a JSON body.
HttpReply http_send(uint16_t port, const std::string& method, const std::string& path, const std::string& json_body,
                    const std::map<std::string, std::string>& headers = {});
HttpReply http_send_at(const HttpEndpoint& at, const std::string& method, const std::string& path,
                       const std::string& json_body, const std::map<std::string, std::string>& headers = {});

// The value of one series of a Prometheus page ("name{label=\"value\"}", or a bare name);
// 0 when the page has no such series.
double metric_value(const std::string& page, const std::string& series);

struct SystemOptions {
    std::vector<std::string> hospitals = {"H001"};
    bool tls = true;
    int request_timeout_ms = 4000;   // control plane waits this long for an agent
    int his_ack_timeout_ms = 1500;   // agent waits this long for the HIS
    std::map<std::string, std::string> sim_faults;  // hospital -> JSON of the "faults" section
    std::map<std::string, std::string> his_params;  // hospital -> JSON merged into its "his" parameters
    std::map<std::string, std::string> more_params; // hospital -> JSON merged into its parameter file
    // Broker users with no process of their own, for the test's clients (each user is one
    // connection: the broker ties client ids to users). "controlplane-test" is always there.
    std::vector<std::string> broker_users;
    std::string controlplane_config = "{}";  // JSON merged into the control plane's config
    // Control-plane instances (cp1, cp2, ...): each its own broker user and API port, all
    // sharing one results_db. get()/post()/put() go to cp1; the *_at() forms to any.
    int controlplanes = 1;
    std::map<std::string, std::string> agent_config;  // hospital -> JSON merged (objects deeply) into its agent's config
    // The agent program, in the build tree: "agent/hisgate-agent-test-hooks" for the agent
    // with its test hooks (agent/main.cpp), which the environment arms.
    std::string agent_program = "agent/hisgate-agent";
    // start() waits this long for every hospital to be online (benchmarks start hundreds).
    std::chrono::milliseconds online_timeout{20000};
    // The API speaks HTTPS (http.tls in controlplane_config): get(), post(), ... go over TLS
    // trusting this CA file. Empty: plain HTTP.
    std::string api_ca_file;
};

class System {
public:
    explicit System(SystemOptions options);
    ~System();

    // Starts everything and waits until every hospital is online in the API.
    bool start();
    bool start_agent(const std::string& hospital);
    bool start_sim(const std::string& hospital);

    // The API as an operator, unless `headers` carry an Authorization of their own.
    HttpReply get(const std::string& path, std::map<std::string, std::string> headers = {}) {
        return get_at(0, path, std::move(headers));
    }
    HttpReply post(const std::string& path, const std::string& json_body, std::map<std::string, std::string> headers = {}) {
        return post_at(0, path, json_body, std::move(headers));
    }
    HttpReply put(const std::string& path, const std::string& json_body, std::map<std::string, std::string> headers = {}) {
        return http_send_at(api_endpoint(0), "PUT", path, json_body, authorized(std::move(headers)));
    }
    // The same through instance `i` (0-based).
    HttpReply get_at(int i, const std::string& path, std::map<std::string, std::string> headers = {}) {
        return http_get_at(api_endpoint(i), path, authorized(std::move(headers)));
    }
    HttpReply post_at(int i, const std::string& path, const std::string& json_body,
                      std::map<std::string, std::string> headers = {}) {
        return http_send_at(api_endpoint(i), "POST", path, json_body, authorized(std::move(headers)));
    }
    // Instance `i`'s API: HTTPS when SystemOptions::api_ca_file is set.
    HttpEndpoint api_endpoint(int i) const;
    // Records a patient's facts as the platform's identity service would (a service token).
    bool set_patient_facts(const std::string& patient_id, bool real_name_verified, int no_show_count = 0);
    // A bearer token signed with the control plane's key (valid one hour), and the header
    // carrying it. `role`: patient, viewer, operator, admin, service.
    std::string token(const std::string& role, const std::string& subject);
    std::map<std::string, std::string> bearer(const std::string& role, const std::string& subject) {
        return {{"Authorization", "Bearer " + token(role, subject)}};
    }
    // The directory of the control plane's signing keys (auth.keys_dir).
    std::string keys_dir() const { return dir_ + "/secrets/api-keys"; }
    // Hospitals the API lists as online.
    std::vector<std::string> online_hospitals();

    Broker& broker() { return *broker_; }
    Process& agent(const std::string& h) { return agents_.at(h); }
    Process& sim(const std::string& h) { return sims_.at(h); }
    Process& controlplane(int i = 0) { return controlplanes_.at(i); }
    bool start_controlplane(int i);
    uint16_t api_port() const { return api_port_; }
    uint16_t api_port_at(int i) const { return api_ports_.at(i); }  // instance `i`'s (0-based)
    uint16_t agent_metrics_port(const std::string& h) const { return agent_metrics_ports_.at(h); }
    uint16_t sim_control_port(const std::string& h) const { return sim_control_ports_.at(h); }
    std::string params_file(const std::string& h) const { return dir_ + "/etc/params-" + h + ".json"; }
    // A count from the hospital's his-sim records (its own SQLite file): `count_sql` with
    // ?1, ?2, ... bound to `args` in order; -1 if unreadable.
    int64_t his_count(const std::string& h, const std::string& count_sql, std::initializer_list<std::string> args = {});
    // How many bookings the hospital's his-sim holds, all or one patient's.
    int64_t his_bookings(const std::string& h) { return his_count(h, "SELECT count(*) FROM bookings"); }
    int64_t his_bookings_of(const std::string& h, const std::string& patient) {
        return his_count(h, "SELECT count(*) FROM bookings WHERE patient_id = ?1", {patient});
    }
    // How many times the hospital's his-sim executed `operation` ("pay", "book", "refund",
    // "cancel") for an order (its executions table).
    int64_t his_executions(const std::string& h, const std::string& order, const std::string& operation) {
        return his_count(h, "SELECT count(*) FROM executions WHERE order_id = ?1 AND operation = ?2", {order, operation});
    }
    const std::string& dir() const { return dir_; }
    std::string log_dir() const { return dir_ + "/logs"; }

private:
    std::map<std::string, std::string> authorized(std::map<std::string, std::string> headers);
    SystemOptions options_;
    std::string dir_;
    std::unique_ptr<Broker> broker_;
    uint16_t api_port_;                // cp1's
    std::vector<uint16_t> api_ports_;  // every instance's, cp1's first
    Poco::Net::Context::Ptr api_tls_;  // set when options_.api_ca_file is
    std::map<std::string, uint16_t> mllp_ports_, agent_metrics_ports_, sim_control_ports_;
    std::map<std::string, Process> sims_, agents_;
    std::vector<Process> controlplanes_;
};

}  // namespace hisgate::test
