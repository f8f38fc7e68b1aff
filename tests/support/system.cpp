#include "tests/support/system.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include <cstdlib>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "auth/access_token.h"
#include "common/client_session.h"
#include "common/tls_context.h"
#include "common/sqlite.h"

namespace hisgate::test {

namespace {
HttpReply exchange(const HttpEndpoint& at, const std::string& method, const std::string& path,
                   const std::map<std::string, std::string>& headers, const std::string* body) {
    HttpReply reply;
    try {
        auto opened = open_client_session(at);
        auto& session = *opened;
        session.setTimeout(Poco::Timespan(30, 0));
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : headers) req.set(k, v);
        if (body) {
            req.setContentType("application/json");
            req.setContentLength(static_cast<std::streamsize>(body->size()));
            session.sendRequest(req) << *body;
        } else {
            session.sendRequest(req);
        }
        Poco::Net::HTTPResponse res;
        std::istream& body = session.receiveResponse(res);
        Poco::StreamCopier::copyToString(body, reply.body);
        reply.status = res.getStatus();
        for (const auto& [k, v] : res) {
            reply.headers[k] = v;
            if (Poco::icompare(k, "Set-Cookie") == 0) reply.set_cookies.push_back(v);
        }
    } catch (const std::exception&) {
        reply.status = 0;
    }
    return reply;
}
}  // namespace

std::string HttpReply::code() const {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    return doc.is_object() && doc.contains("code") && doc["code"].is_string() ? doc["code"].get<std::string>() : "";
}

HttpReply http_get(uint16_t port, const std::string& path, const std::map<std::string, std::string>& headers) {
    return exchange({"127.0.0.1", port, nullptr}, "GET", path, headers, nullptr);
}

HttpReply http_get_at(const HttpEndpoint& at, const std::string& path, const std::map<std::string, std::string>& headers) {
    return exchange(at, "GET", path, headers, nullptr);
}

HttpReply http_send(uint16_t port, const std::string& method, const std::string& path, const std::string& json_body,
                    const std::map<std::string, std::string>& headers) {
    return exchange({"127.0.0.1", port, nullptr}, method, path, headers, &json_body);
}

HttpReply http_send_at(const HttpEndpoint& at, const std::string& method, const std::string& path,
                       const std::string& json_body, const std::map<std::string, std::string>& headers) {
    return exchange(at, method, path, headers, &json_body);
}

HttpEndpoint System::api_endpoint(int i) const { return {"127.0.0.1", api_ports_.at(i), api_tls_}; }

double metric_value(const std::string& page, const std::string& series) {
    auto at = page.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(page.substr(at + series.size() + 2));
}

std::string System::token(const std::string& role, const std::string& subject) {
    auto ring = auth::KeyRing::open(keys_dir());
    auto parsed = auth::role_from_string(role);
    if (!ring || !parsed) return "";
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto jwt = auth::issue_token(**ring, {*parsed, subject, now + std::chrono::hours(1)}, now);
    return jwt ? *jwt : "";
}

int64_t System::his_count(const std::string& h, const std::string& count_sql, std::initializer_list<std::string> args) {
    auto db = sql::Db::open(dir_ + "/data/his-sim-" + h + ".db");
    if (!db) return -1;
    auto st = db->prepare(count_sql);
    if (!st) return -1;
    int i = 0;
    for (const auto& a : args) st->bind(++i, a);
    if (!st->step()) return -1;
    return st->integer(0);
}

bool System::set_patient_facts(const std::string& patient_id, bool real_name_verified, int no_show_count) {
    nlohmann::json facts = {{"realNameVerified", real_name_verified}, {"noShowCount", no_show_count}};
    return put("/api/v1/patients/" + patient_id + "/facts", facts.dump(), bearer("service", "identity-service")).status == 200;
}

std::map<std::string, std::string> System::authorized(std::map<std::string, std::string> headers) {
    if (!headers.count("Authorization")) headers["Authorization"] = "Bearer " + token("operator", "test-operator");
    return headers;
}

System::System(SystemOptions options)
    : options_(std::move(options)), dir_(make_temp_dir("hisgate-system")), api_port_(free_port()) {
    // One client context for every request to an HTTPS API; a CA that does not load fails
    // the test here, rather than every request later (or, worse, going out in plain HTTP).
    if (!options_.api_ca_file.empty()) {
        auto tls = make_client_tls({options_.api_ca_file, /*verify_peer=*/true, "", ""});
        if (!tls) throw std::runtime_error("SystemOptions::api_ca_file: " + tls.error().describe());
        api_tls_ = *tls;
    }
    std::system(("mkdir -p " + dir_ + "/logs " + dir_ + "/etc " + dir_ + "/data " + keys_dir()).c_str());
    (void)auth::KeyRing::create_key(keys_dir(), std::chrono::system_clock::now());  // a failure shows as 401s
    std::vector<std::string> users = {"controlplane", "controlplane-test"};
    for (int i = 2; i <= options_.controlplanes; ++i) users.push_back("controlplane-" + std::to_string(i));
    users.insert(users.end(), options_.hospitals.begin(), options_.hospitals.end());
    users.insert(users.end(), options_.broker_users.begin(), options_.broker_users.end());
    broker_ = std::make_unique<Broker>(users, options_.tls);
    for (const auto& h : options_.hospitals) {
        mllp_ports_[h] = free_port();
        agent_metrics_ports_[h] = free_port();
        sim_control_ports_[h] = free_port();
        // The hospital's parameter file: the only place its HIS is described, read by both
        // its agent and its his-sim.
        nlohmann::json params = {
            {"hospital", {{"id", h}, {"region", "south"}}},
            {"his",
             {{"dialect", "hl7v2-mllp"},
              {"endpoint", "127.0.0.1:" + std::to_string(mllp_ports_[h])},
              {"connect_timeout", "1s"},
              {"answer_timeout", std::to_string(options_.his_ack_timeout_ms) + "ms"},
              // Reports are deferred work: drain often, so tests need not wait 30 s.
              {"deferred_drain_interval", "1s"}}}};
        if (options_.his_params.count(h)) params["his"].update(nlohmann::json::parse(options_.his_params.at(h)));
        // REST and SOAP HIS are reached by URL (REST resources lie below his.rest.base_path).
        if (params["his"]["dialect"] != "hl7v2-mllp")
            params["his"]["endpoint"] = "http://127.0.0.1:" + std::to_string(mllp_ports_[h]) +
                                        (params["his"]["dialect"] == "soap-xml" ? "/his/soap" : "");
        if (options_.more_params.count(h)) params.update(nlohmann::json::parse(options_.more_params.at(h)));
        write_file(params_file(h), params.dump(2));
        nlohmann::json sim = {{"params_file", params_file(h)},
                              {"db", dir_ + "/data/his-sim-" + h + ".db"},
                              {"faults", nlohmann::json::parse(options_.sim_faults.count(h) ? options_.sim_faults.at(h) : "{}")},
                              {"control", {{"port", sim_control_ports_[h]}}},
                              {"log", {{"file", dir_ + "/logs/his-sim-" + h + ".log"}}}};
        write_file(dir_ + "/etc/his-sim-" + h + ".json", sim.dump(2));
        nlohmann::json agent = {{"params_file", params_file(h)},
                                {"state_db", dir_ + "/data/agent-" + h + ".db"},
                                {"broker", nlohmann::json::parse(broker_->config_json(h))},
                                {"metrics", {{"port", agent_metrics_ports_[h]}}},
                                {"log", {{"file", dir_ + "/logs/agent-" + h + ".log"}}}};
        if (options_.agent_config.count(h)) agent.update(nlohmann::json::parse(options_.agent_config.at(h)), true);
        write_file(dir_ + "/etc/agent-" + h + ".json", agent.dump(2));
    }
    nlohmann::json cp = {{"instance_id", "cp1"},
                         {"broker", nlohmann::json::parse(broker_->config_json("controlplane"))},
                         {"http", {{"port", api_port_}}},
                         {"request_timeout_ms", options_.request_timeout_ms},
                         {"results_db", dir_ + "/data/controlplane-cp1.db"},
                         {"auth", {{"keys_dir", keys_dir()}}},
                         {"log", {{"file", dir_ + "/logs/controlplane-cp1.log"}}}};
    cp.merge_patch(nlohmann::json::parse(options_.controlplane_config));
    write_file(dir_ + "/etc/controlplane.json", cp.dump(2));
    api_ports_.push_back(api_port_);
    for (int i = 2; i <= options_.controlplanes; ++i) {
        // The same configuration but for who it is: its user, instance id, port and log.
        const std::string n = std::to_string(i);
        api_ports_.push_back(free_port());
        cp["instance_id"] = "cp" + n;
        cp["broker"] = nlohmann::json::parse(broker_->config_json("controlplane-" + n));
        cp["http"]["port"] = api_ports_.back();
        cp["log"]["file"] = dir_ + "/logs/controlplane-cp" + n + ".log";
        write_file(dir_ + "/etc/controlplane-cp" + n + ".json", cp.dump(2));
    }
    controlplanes_.resize(api_ports_.size());
}

bool System::start_controlplane(int i) {
    std::string config = dir_ + (i == 0 ? "/etc/controlplane.json" : "/etc/controlplane-cp" + std::to_string(i + 1) + ".json");
    controlplanes_.at(i) = Process({binary("controlplane/hisgate-controlplane"), "--config", config},
                                   dir_ + "/logs/controlplane" + (i == 0 ? "" : "-cp" + std::to_string(i + 1)) + ".out");
    return controlplanes_[i].start() && wait_port_open(api_ports_[i], std::chrono::milliseconds(10000));
}

System::~System() {
    for (auto& cp : controlplanes_) cp.stop();
    for (auto& [_, p] : agents_) p.stop();
    for (auto& [_, p] : sims_) p.stop();
    broker_.reset();
    if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + dir_).c_str());
}

bool System::start_sim(const std::string& h) {
    sims_[h] = Process({binary("tools/his-sim/his-sim"), "--config", dir_ + "/etc/his-sim-" + h + ".json"},
                       dir_ + "/logs/his-sim-" + h + ".out");
    return sims_[h].start() && wait_port_open(mllp_ports_[h], std::chrono::milliseconds(10000));
}

bool System::start_agent(const std::string& h) {
    agents_[h] = Process({binary(options_.agent_program), "--config", dir_ + "/etc/agent-" + h + ".json"},
                         dir_ + "/logs/agent-" + h + ".out");
    return agents_[h].start();
}

bool System::start() {
    if (!broker_->start()) return false;
    for (const auto& h : options_.hospitals)
        if (!start_sim(h) || !start_agent(h)) return false;
    for (int i = 0; i < static_cast<int>(controlplanes_.size()); ++i)
        if (!start_controlplane(i)) return false;
    // Every instance must hold its broker connection before a test sends it work: the
    // hospital list below comes from the shared fleet store, which a second instance can
    // serve before it has connected (CI saw cp2 answer 502 mqtt.disconnected under load).
    for (int i = 0; i < static_cast<int>(controlplanes_.size()); ++i)
        if (!eventually([&] { return metric_value(get_at(i, "/metrics").body, "hisgate_mqtt_connected") == 1; },
                        options_.online_timeout))
            return false;
    return eventually([&] { return online_hospitals().size() == options_.hospitals.size(); }, options_.online_timeout);
}

std::vector<std::string> System::online_hospitals() {
    std::vector<std::string> out;
    auto reply = get("/api/v1/hospitals");
    if (reply.status != 200) return out;
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    if (doc.is_discarded()) return out;
    for (const auto& h : doc["hospitals"]) out.push_back(h.value("hospitalId", ""));
    return out;
}

}  // namespace hisgate::test
