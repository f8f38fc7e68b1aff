#include "tests/support/swarm_fleet.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/access_token.h"
#include "auth/key_ring.h"

namespace hisgate::test {

SwarmFleet::SwarmFleet(SwarmFleetOptions options)
    : options_(std::move(options)), dir_(make_temp_dir("hisgate-swarm-fleet")), api_port_(free_port()) {
    std::system(("mkdir -p " + dir_ + "/keys " + dir_ + "/data").c_str());
    for (int i = 0; i < options_.agents; ++i) {
        char number[24];
        std::snprintf(number, sizeof number, "%05d", i);
        ids_.push_back(options_.prefix + number);
    }
    std::vector<std::string> users = {"controlplane"};
    users.insert(users.end(), ids_.begin(), ids_.end());
    broker_ = std::make_unique<Broker>(users, false);
    auto now = std::chrono::system_clock::now();
    (void)auth::KeyRing::create_key(dir_ + "/keys", now);  // a failure shows as 401s
    if (auto ring = auth::KeyRing::open(dir_ + "/keys")) {
        auto secs = std::chrono::floor<std::chrono::seconds>(now);
        if (auto jwt = auth::issue_token(**ring, {auth::Role::Operator, "fleet-scale", secs + std::chrono::hours(24)}, secs))
            token_ = *jwt;
    }
    write_file(token_file(), token_ + "\n");
    nlohmann::json cp = {{"instance_id", "cp1"},
                         {"broker", nlohmann::json::parse(broker_->config_json("controlplane"))},
                         {"http", {{"port", api_port_}}},
                         {"results_db", dir_ + "/data/controlplane.db"},
                         {"auth", {{"keys_dir", dir_ + "/keys"}}},
                         {"log", {{"file", dir_ + "/controlplane.log"}}}};
    cp.merge_patch(options_.controlplane_config);
    write_file(dir_ + "/controlplane.json", cp.dump(2));
    nlohmann::json swarm = {{"broker", {{"port", broker_->port()}, {"password_dir", broker_->dir()}}},
                            {"agents", {{"count", options_.agents}, {"prefix", options_.prefix}}},
                            {"heartbeat_interval_ms", options_.heartbeat_interval_ms},
                            {"status_interval_ms", options_.status_interval_ms},
                            {"start_spread_ms", options_.start_spread_ms},
                            {"log", {{"file", dir_ + "/agent-swarm.log"}}}};
    swarm.merge_patch(options_.swarm_config);
    write_file(dir_ + "/agent-swarm.json", swarm.dump(2));
}

SwarmFleet::~SwarmFleet() {
    swarm_.stop();
    controlplane_.stop();
    broker_.reset();
    if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + dir_).c_str());
}

bool SwarmFleet::start_controlplane() {
    controlplane_ = Process({binary("controlplane/hisgate-controlplane"), "--config", dir_ + "/controlplane.json"},
                            dir_ + "/controlplane.out");
    return controlplane_.start() && wait_port_open(api_port_, std::chrono::milliseconds(10000));
}

bool SwarmFleet::start_swarm() {
    swarm_ = Process({binary("tools/agent-swarm/agent-swarm"), "--config", dir_ + "/agent-swarm.json"},
                     dir_ + "/agent-swarm.out");
    return swarm_.start();
}

HttpReply SwarmFleet::get(const std::string& path) { return http_get(api_port_, path, {{"Authorization", "Bearer " + token_}}); }

HttpReply SwarmFleet::post(const std::string& path, const nlohmann::json& body) {
    return http_send(api_port_, "POST", path, body.dump(), {{"Authorization", "Bearer " + token_}});
}

std::optional<std::map<std::string, FleetEntry>> SwarmFleet::fleet() {
    std::map<std::string, FleetEntry> out;
    std::string cursor;
    for (;;) {
        auto reply = get("/api/v1/fleet?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
        if (reply.status != 200) return std::nullopt;
        auto doc = nlohmann::json::parse(reply.body, nullptr, false);
        if (!doc.is_object() || !doc["hospitals"].is_array()) return std::nullopt;
        for (const auto& h : doc["hospitals"]) {
            FleetEntry e;
            e.online = h.value("state", "") == "online";
            e.session = h.value("session", int64_t{0});
            e.has_heartbeat = h.contains("lastHeartbeat") && h["lastHeartbeat"].is_string();
            out[h.value("hospitalId", "")] = e;
        }
        if (!doc.contains("nextCursor") || !doc["nextCursor"].is_string()) return out;
        cursor = doc["nextCursor"].get<std::string>();
    }
}

bool publish_sim_releases(const std::string& dir, const std::string& repo, const std::vector<std::string>& versions) {
    const std::string keys = dir + "/release-keys", releases = dir + "/releases";
    std::system(("mkdir -p " + keys + " " + releases).c_str());
    auto release = [](std::vector<std::string> args) {
        args.insert(args.begin(), {binary("cli/hisgate"), "release"});
        auto r = run_capture(args, std::chrono::seconds(60));
        if (r.status != 0) std::fprintf(stderr, "hisgate release %s: %s\n", args[2].c_str(), r.output.c_str());
        return r.status == 0;
    };
    if (!release({"keygen", "--out", keys + "/root"}) || !release({"keygen", "--out", keys + "/signing"}) ||
        !release({"certify", "--root", keys + "/root.key", "--key", keys + "/signing.pub", "--name", "sim", "--out",
                  keys + "/signing.cert.json"}))
        return false;
    for (const auto& v : versions) {
        const std::string tree = dir + "/tree-" + v, out = releases + "/" + v;
        std::system(("mkdir -p " + tree + "/bin").c_str());
        write_file(tree + "/bin/hisgate-agent", "simulated agent " + v + "\n");
        if (!release({"build", "--version", v, "--from", tree, "--previous", releases, "--out", out, "--level", "1"}) ||
            !release({"sign", "--manifest", out + "/manifest.json", "--key", keys + "/signing.key", "--cert",
                      keys + "/signing.cert.json", "--root", keys + "/root.pub"}) ||
            !release({"publish", "--repo", repo, "--root", keys + "/root.pub", out}))
            return false;
    }
    return true;
}

std::map<std::string, long long> SwarmFleet::swarm_status() const {
    std::map<std::string, long long> out;
    std::string text = read_file(dir_ + "/agent-swarm.out");
    auto at = text.rfind("swarm agents=");
    if (at == std::string::npos) return out;
    auto end = text.find('\n', at);
    if (end == std::string::npos) {  // a line still being written: the one before
        if (at == 0) return out;
        at = text.rfind("swarm agents=", at - 1);
        if (at == std::string::npos) return out;
        end = text.find('\n', at);
    }
    std::istringstream line(text.substr(at + 6, end - at - 6));
    std::string pair;
    while (line >> pair) {
        auto eq = pair.find('=');
        if (eq != std::string::npos) out[pair.substr(0, eq)] = std::atoll(pair.c_str() + eq + 1);
    }
    return out;
}

}  // namespace hisgate::test
