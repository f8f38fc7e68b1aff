// Rollout time (issue 16, "Benchmarks"): how long a release takes to go to N simulated
// sites through four waves (1%, 10%, 50%, 100%), with real Mosquitto, a real
// hisgate-controlplane serving a release repository that `hisgate release` built, signed
// and published, and N light agents in one agent-swarm process (tools/agent-swarm; the
// set-up is tests/support/swarm_fleet.h). Each agent answers release.install {"accepted":
// true} and restarts at the new version after --install-ms (what the updater's download,
// switch and restart cost, simulated); the control plane judges it good only when the
// registry shows the new version in a new session with a heartbeat and passing probes.
//
//   rollout_bench [--agents N] [--install-ms MS] [--heartbeat-ms MS] [--interval-ms MS] [--repeat R]
//   (defaults 100, 1000, 1000, 1000, 1)
//
// Per run: the wall time from POST /api/v1/rollouts to the rollout's state "done", each
// wave's time (its first install sent to its last hospital judged, from the rollout's
// targets), and the control plane's share: the total less the simulated install time of
// the four waves. Prints RESULT lines; exit status 1 if the system did not come up, the
// rollout did not finish in 10 minutes, or it finished other than done with every site.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/swarm_fleet.h"

using namespace hisgate;
using SteadyClock = std::chrono::steady_clock;

namespace {
struct RolloutBenchOptions {
    int agents = 100;
    int install_ms = 1000;
    int heartbeat_ms = 1000;
    int interval_ms = 1000;
    int repeat = 1;
};

int online_count(test::SwarmFleet& fleet, const std::string& version) {
    auto reply = fleet.get("/api/v1/fleet?limit=1000&state=online&version=" + version);
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    return reply.status == 200 && doc.is_object() && doc["hospitals"].is_array() ? static_cast<int>(doc["hospitals"].size()) : -1;
}
}  // namespace

int main(int argc, char** argv) {
    RolloutBenchOptions o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        int v = std::atoi(argv[i + 1]);
        if (flag == "--agents") o.agents = v;
        else if (flag == "--install-ms") o.install_ms = v;
        else if (flag == "--heartbeat-ms") o.heartbeat_ms = v;
        else if (flag == "--interval-ms") o.interval_ms = v;
        else if (flag == "--repeat") o.repeat = v;
        else {
            std::fprintf(stderr, "rollout_bench: unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    const std::string releases = test::make_temp_dir("hisgate-rollout-bench");
    // One release per run after the agents' own: 1.0.0 -> 1.1.0 -> 1.2.0 ...
    std::vector<std::string> versions;
    for (int r = 0; r <= o.repeat; ++r) versions.push_back("1." + std::to_string(r) + ".0");
    if (!test::publish_sim_releases(releases, releases + "/repo", versions)) return 1;
    test::SwarmFleetOptions fo{.agents = o.agents, .prefix = "B", .heartbeat_interval_ms = o.heartbeat_ms};
    fo.swarm_config = {{"agents", {{"version", versions[0]}}}, {"release", {{"delay_ms", o.install_ms}}}};
    fo.controlplane_config = {{"releases", {{"repo_dir", releases + "/repo"}}}, {"rollouts", {{"interval_ms", o.interval_ms}}}};
    test::SwarmFleet fleet(fo);
    if (!fleet.start_broker() || !fleet.start_controlplane() || !fleet.start_swarm()) return 1;
    auto up = SteadyClock::now();
    while (online_count(fleet, versions[0]) != o.agents) {
        if (SteadyClock::now() - up > std::chrono::seconds(120)) {
            std::fprintf(stderr, "rollout_bench: the fleet did not come online\n");
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("fleet: %d agents online at %s; install %d ms, heartbeat %d ms, engine round %d ms\n", o.agents,
                versions[0].c_str(), o.install_ms, o.heartbeat_ms, o.interval_ms);
    int status = 0;
    for (int r = 1; r <= o.repeat; ++r) {
        const std::string& release = versions[static_cast<size_t>(r)];
        const auto started = SteadyClock::now();
        auto posted = fleet.post("/api/v1/rollouts",
                                 {{"release", release}, {"waves", "1%,10%,50%,100%"}, {"maxFailure", "5%"}, {"waveTimeout", "5m"}});
        if (posted.status != 201) {
            std::fprintf(stderr, "rollout_bench: POST /api/v1/rollouts: %d %s\n", posted.status, posted.body.c_str());
            return 1;
        }
        const std::string id = nlohmann::json::parse(posted.body)["id"];
        nlohmann::json doc;
        double total_s = 0;
        for (;;) {
            auto reply = fleet.get("/api/v1/rollouts/" + id);
            doc = nlohmann::json::parse(reply.body, nullptr, false);
            total_s = std::chrono::duration<double>(SteadyClock::now() - started).count();
            const std::string state = doc.is_object() ? doc.value("state", "") : "";
            if (state == "done" || state == "halted" || state == "aborted") break;
            if (total_s > 600) {
                std::fprintf(stderr, "rollout_bench: not finished in 10 minutes\n");
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        // Each wave: its first install sent to its last hospital judged.
        std::vector<int64_t> first(4, INT64_MAX), last(4, 0);
        std::vector<int> size(4, 0);
        for (const auto& t : doc["targets"]) {
            int w = t.value("wave", 1) - 1;
            if (w < 0 || w > 3) continue;
            ++size[static_cast<size_t>(w)];
            first[static_cast<size_t>(w)] = std::min(first[static_cast<size_t>(w)], t.value("sentMs", int64_t{0}));
            last[static_cast<size_t>(w)] = std::max(last[static_cast<size_t>(w)], t.value("judgedMs", int64_t{0}));
        }
        std::printf("RESULT rollout run=%d release=%s agents=%d state=%s succeeded=%d total_s=%.2f", r, release.c_str(),
                    o.agents, doc.value("state", "").c_str(), doc["totals"].value("succeeded", 0), total_s);
        for (int w = 0; w < 4; ++w)
            std::printf(" wave%d=%d/%.2fs", w + 1, size[static_cast<size_t>(w)],
                        (last[static_cast<size_t>(w)] - first[static_cast<size_t>(w)]) / 1000.0);
        std::printf(" control_plane_share_s=%.2f\n", total_s - 4 * o.install_ms / 1000.0);
        std::fflush(stdout);
        if (doc.value("state", "") != "done" || doc["totals"].value("succeeded", 0) != o.agents) status = 1;
    }
    if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + releases).c_str());
    return status;
}
