// Fleet scale (issue 13, "Benchmarks"): N connected agents against a real Mosquitto and a
// real hisgate-controlplane on loopback, the agents being light simulated ones speaking the
// real presence and request protocol, all in one agent-swarm process (tools/agent-swarm;
// the set-up is tests/support/swarm_fleet.h: plain TCP, the production ACL, one broker
// user per hospital).
//
//   fleet_scale_bench [--agents N] [--steady S] [--down S] [--heartbeat-ms MS]
//                     [--registry-rate MSG_PER_S] [--storm-timeout S]
//   (defaults 2000, 120, 5, 30000, none, 300)
//
// 1. Cold start: every agent connects at once; how long until the swarm has every birth
//    acknowledged, and until the control plane's registry lists every hospital online.
// 2. Steady state: after one heartbeat period of settling, /proc of the control plane,
//    Mosquitto and the swarm sampled every second for S seconds: RSS (median, max) and CPU
//    (utime + stime over the window), heartbeats published by the swarm in the window, and
//    the control plane's CPU per heartbeat. --registry-rate (fleet_registry_bench's apply
//    rate, same invocation) gives the ceiling: the CPU one heartbeat costs the registry
//    alone (1 / rate) against what it costs the whole control-plane process.
// 3. Connect storm: Mosquitto killed with SIGKILL, started again on the same port after
//    --down seconds; the agents come back with their jittered backoff. Measured from the
//    moment the new broker accepts connections: until the swarm has every agent online
//    again, and until the registry lists every hospital online with a session newer than
//    before the kill (the fleet API, polled every 0.5 s once the swarm is all online, so
//    the listing does not load the control plane while it takes the storm). Target: 60 s.
//
// Prints RESULT and RATIO lines. Exit status 1 if the system did not come up, a phase timed
// out, or a process died.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/proc_stats.h"
#include "tests/support/swarm_fleet.h"

using namespace hisgate;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

// The processes of the run open a descriptor per connection: the broker inherits this limit.
rlim_t raise_fd_limit(rlim_t wanted) {
    rlimit l{};
    getrlimit(RLIMIT_NOFILE, &l);
    if (l.rlim_cur < wanted) {
        rlimit up{wanted, std::max(wanted, l.rlim_max)};  // raising the hard limit needs root
        if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
            up = {l.rlim_max, l.rlim_max};
            setrlimit(RLIMIT_NOFILE, &up);
        }
        getrlimit(RLIMIT_NOFILE, &l);
    }
    return l.rlim_cur;
}

std::string open_file_limit(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("Max open files", 0) == 0) {
            std::string soft;
            std::istringstream(line.substr(14)) >> soft;
            return soft;
        }
    return "?";
}

// One process watched over a window.
struct Watch {
    std::string name;
    pid_t pid = -1;
    std::vector<test::ProcStats> samples;

    void take() {
        if (auto s = pid > 0 ? test::proc_stats(pid) : std::nullopt) samples.push_back(*s);
    }
    double rss_median() const {
        std::vector<double> v;
        for (const auto& s : samples) v.push_back(s.rss_mb);
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
    double rss_max() const {
        double m = 0;
        for (const auto& s : samples) m = std::max(m, s.rss_mb);
        return m;
    }
    double cpu_seconds() const {
        if (samples.size() < 2) return 0;
        return static_cast<double>(samples.back().cpu_ticks - samples.front().cpu_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
};

struct Options {
    int agents = 2000;
    int steady_s = 120;
    double down_s = 5;
    int heartbeat_ms = 30000;
    double registry_rate = 0;
    int storm_timeout_s = 300;
};

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (i + 1 >= argc) return std::fprintf(stderr, "fleet_scale_bench: option %s needs a value\n", a.c_str()), false;
        double v = std::atof(argv[i + 1]);
        if (a == "--agents" && v >= 1 && v <= 60000) o.agents = static_cast<int>(v);
        else if (a == "--steady" && v >= 1) o.steady_s = static_cast<int>(v);
        else if (a == "--down" && v >= 0) o.down_s = v;
        else if (a == "--heartbeat-ms" && v >= 100) o.heartbeat_ms = static_cast<int>(v);
        else if (a == "--registry-rate" && v > 0) o.registry_rate = v;
        else if (a == "--storm-timeout" && v >= 1) o.storm_timeout_s = static_cast<int>(v);
        else return std::fprintf(stderr, "fleet_scale_bench: bad option %s %s\n", a.c_str(), argv[i + 1]), false;
    }
    return true;
}

// Hospitals the API lists online with a session above the one in `before` (any session when
// `before` is empty); -1 when the listing failed.
long count_back(test::SwarmFleet& fleet, const std::map<std::string, test::FleetEntry>& before) {
    auto now = fleet.fleet();
    if (!now) return -1;
    long n = 0;
    for (const auto& [id, e] : *now) {
        if (!e.online) continue;
        auto was = before.find(id);
        if (was == before.end() || e.session > was->second.session) ++n;
    }
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: fleet_scale_bench [--agents N] [--steady S] [--down S] [--heartbeat-ms MS] "
                             "[--registry-rate MSG_PER_S] [--storm-timeout S]\n");
        return 2;
    }
    const rlim_t fds = raise_fd_limit(static_cast<rlim_t>(o.agents) * 2 + 4096);
    std::printf("fleet_scale_bench: %d agents, heartbeat every %d ms, open-file limit %llu; load average %s; %ld cores\n",
                o.agents, o.heartbeat_ms, static_cast<unsigned long long>(fds), load_average().c_str(),
                sysconf(_SC_NPROCESSORS_ONLN));
    std::fflush(stdout);
    const long all = o.agents;
    auto t_setup = Clock::now();
    test::SwarmFleet fleet({.agents = o.agents, .heartbeat_interval_ms = o.heartbeat_ms, .status_interval_ms = 200});
    std::printf("set-up (broker users and passwords) %.1f s in %s\n", since(t_setup), fleet.dir().c_str());
    if (!fleet.start_broker() || !fleet.start_controlplane()) {
        std::fprintf(stderr, "fleet_scale_bench: the broker or the control plane did not start (%s)\n", fleet.dir().c_str());
        return 1;
    }
    std::printf("mosquitto pid %d, open-file limit %s\n", fleet.broker().pid(), open_file_limit(fleet.broker().pid()).c_str());

    // 1. Cold start.
    auto t_cold = Clock::now();
    if (!fleet.start_swarm()) return std::fprintf(stderr, "fleet_scale_bench: agent-swarm did not start\n"), 1;
    double swarm_all = -1, registry_all = -1;
    while (since(t_cold) < o.storm_timeout_s) {
        auto st = fleet.swarm_status();
        if (swarm_all < 0 && st["online"] == all) swarm_all = since(t_cold);
        if (swarm_all >= 0 && count_back(fleet, {}) == all) {
            registry_all = since(t_cold);
            break;
        }
        if (!fleet.swarm().running()) return std::fprintf(stderr, "fleet_scale_bench: agent-swarm exited\n"), 1;
        sleep_s(swarm_all < 0 ? 0.2 : 0.5);
    }
    if (registry_all < 0) return std::fprintf(stderr, "fleet_scale_bench: not all online within %d s\n", o.storm_timeout_s), 1;
    std::printf("RESULT cold_start agents=%ld swarm_all_online_s=%.1f registry_all_online_s=%.1f\n", all, swarm_all, registry_all);
    std::fflush(stdout);

    // 2. Steady state, after one heartbeat period (every agent's heartbeat has started).
    sleep_s(o.heartbeat_ms / 1000.0 + 5);
    std::vector<Watch> watched = {{"hisgate-controlplane", fleet.controlplane().pid(), {}},
                                  {"mosquitto", fleet.broker().pid(), {}},
                                  {"agent-swarm", fleet.swarm().pid(), {}}};
    const long heartbeats_before = fleet.swarm_status()["heartbeats"];
    std::printf("steady state: sampling %d s (load average %s)\n", o.steady_s, load_average().c_str());
    std::fflush(stdout);
    auto t_steady = Clock::now();
    for (int i = 0; i <= o.steady_s; ++i) {
        std::this_thread::sleep_until(t_steady + std::chrono::seconds(i));
        for (auto& w : watched) w.take();
    }
    const double window = since(t_steady);
    const long heartbeats = fleet.swarm_status()["heartbeats"] - heartbeats_before;
    const std::string load_steady = load_average();
    auto fleet_now = fleet.fleet();
    long with_heartbeat = 0, online_now = 0;
    if (fleet_now)
        for (const auto& [_, e] : *fleet_now) with_heartbeat += e.has_heartbeat, online_now += e.online;
    auto metrics = fleet.get("/metrics").body;
    // State messages the registry set aside (hospital_registry.h), by kind, since the start:
    // "state_stale" counts the late wills of connection attempts an agent gave up on in the
    // cold start (no CONNACK within 5 s) and replaced by a newer session, as the liveness
    // rule means it to.
    std::string rejected;
    for (const char* kind : {"state", "state_stale", "heartbeat_unknown"})
        rejected += std::string(rejected.empty() ? "" : ",") + kind + ":" +
                    std::to_string(static_cast<long>(test::metric_value(
                        metrics, std::string("hisgate_rejected_messages_total{kind=\"") + kind + "\"}")));
    for (const auto& w : watched)
        std::printf("RESULT steady %-20s rss_mb=%.1f rss_max_mb=%.1f threads=%d cpu_s=%.2f cpu_pct=%.2f\n", w.name.c_str(),
                    w.rss_median(), w.rss_max(), w.samples.empty() ? 0 : w.samples.back().threads, w.cpu_seconds(),
                    100 * w.cpu_seconds() / window);
    const double cp_cpu_per_hb_ms = heartbeats > 0 ? 1000 * watched[0].cpu_seconds() / static_cast<double>(heartbeats) : 0;
    std::printf("RESULT steady heartbeats=%ld per_s=%.1f (expected %.1f) window_s=%.1f online=%ld with_heartbeat=%ld "
                "rejected_states=%s cp_cpu_ms_per_heartbeat=%.3f load_average=\"%s\"\n",
                heartbeats, static_cast<double>(heartbeats) / window, all * 1000.0 / o.heartbeat_ms, window, online_now,
                with_heartbeat, rejected.c_str(), cp_cpu_per_hb_ms, load_steady.c_str());
    if (o.registry_rate > 0 && cp_cpu_per_hb_ms > 0)
        std::printf("RATIO cp_cpu_per_heartbeat / registry_apply_cost %.2f (registry alone: %.3f ms per message at %.0f msg/s)\n",
                    cp_cpu_per_hb_ms / (1000.0 / o.registry_rate), 1000.0 / o.registry_rate, o.registry_rate);
    if (heartbeats > 0)
        std::printf("RATIO cp_cpu_busy_fraction %.4f (of one core, %.0f heartbeats/s)\n", watched[0].cpu_seconds() / window,
                    static_cast<double>(heartbeats) / window);
    std::fflush(stdout);

    // 3. Connect storm after a broker restart on the same port.
    auto before = fleet.fleet();
    if (!before || static_cast<long>(before->size()) != all)
        return std::fprintf(stderr, "fleet_scale_bench: the fleet listing before the storm failed\n"), 1;
    const auto status_before = fleet.swarm_status();
    Watch cp_storm{"hisgate-controlplane", fleet.controlplane().pid(), {}};
    cp_storm.take();
    auto t_kill = Clock::now();
    fleet.broker().kill9();
    sleep_s(o.down_s);
    if (!fleet.broker().start()) return std::fprintf(stderr, "fleet_scale_bench: the broker did not start again\n"), 1;
    auto t_up = Clock::now();
    const double down = std::chrono::duration<double>(t_up - t_kill).count();
    Watch broker_storm{"mosquitto", fleet.broker().pid(), {}};
    double storm_swarm = -1, storm_registry = -1;
    long back = 0;
    while (since(t_up) < o.storm_timeout_s) {
        cp_storm.take();
        broker_storm.take();
        auto st = fleet.swarm_status();
        if (storm_swarm < 0 && st["online"] == all && st["sessions"] >= status_before.at("sessions") + all)
            storm_swarm = since(t_up);
        if (storm_swarm >= 0) {
            back = count_back(fleet, *before);
            if (back == all) {
                storm_registry = since(t_up);
                break;
            }
        }
        if (!fleet.swarm().running() || !fleet.controlplane().running())
            return std::fprintf(stderr, "fleet_scale_bench: a process exited during the storm\n"), 1;
        sleep_s(storm_swarm < 0 ? 0.2 : 0.5);
    }
    cp_storm.take();
    broker_storm.take();
    auto status_after = fleet.swarm_status();
    std::printf("RESULT storm agents=%ld broker_down_s=%.1f swarm_all_online_s=%.1f registry_all_back_s=%.1f "
                "registry_all_back_since_kill_s=%.1f failed_attempts=%lld refused=%lld protocol_errors=%lld\n",
                all, down, storm_swarm, storm_registry, storm_registry < 0 ? -1 : storm_registry + down,
                status_after["failed"] - status_before.at("failed"), status_after["refused"] - status_before.at("refused"),
                status_after["protocol_errors"]);
    std::printf("RESULT storm hisgate-controlplane rss_max_mb=%.1f cpu_s=%.2f; mosquitto rss_max_mb=%.1f rss_end_mb=%.1f cpu_s=%.2f\n",
                cp_storm.rss_max(), cp_storm.cpu_seconds(), broker_storm.rss_max(),
                broker_storm.samples.empty() ? 0 : broker_storm.samples.back().rss_mb, broker_storm.cpu_seconds());
    if (storm_registry >= 0) std::printf("RATIO storm_registry_all_back / target_60s %.2f\n", storm_registry / 60.0);
    std::printf("load average after: %s\n", load_average().c_str());
    std::fflush(stdout);
    if (storm_registry < 0) {
        std::fprintf(stderr, "fleet_scale_bench: only %ld of %ld hospitals back within %d s\n", back, all, o.storm_timeout_s);
        return 1;
    }
    return 0;
}
