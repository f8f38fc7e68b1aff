// What an idle agent costs its hospital's front-end server: resident memory and CPU.
//
// Starts the whole system as real processes (Mosquitto with TLS and the production ACL,
// his-sim, hisgate-agent, the control plane; tests/support/system.h), waits until the
// agent is online and has settled, then samples every process's VmRSS
// (/proc/PID/status) and CPU time (utime + stime, /proc/PID/stat) once a second for
// the measured period. Mosquitto, a small C daemon doing comparable idle work (holding
// TLS sessions, answering keep-alives), is the reference beside the agent.
//
//   agent_idle_bench [--seconds S] [--settle S] [--tls 0|1]     (defaults 60, 10, 1)
//
// --tls 0 runs MQTT over plain TCP, to see what TLS costs (production uses TLS).
//
// Prints a RESULT line per process: RSS MB (median and max over the samples), peak RSS
// (VmHWM) MB, threads, CPU % of one core over the period; then the agent's ratios.
// Exit status 1 if the system did not start or the agent exited while measured.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/proc_stats.h"
#include "tests/support/system.h"

using namespace hisgate::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Watched {
    std::string name;
    pid_t pid;
    std::vector<ProcStats> samples;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = 60, settle = 10;
    bool tls = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        int v = std::atoi(argv[i + 1]);
        if (a == "--seconds" && v > 0) seconds = v;
        else if (a == "--settle" && v >= 0) settle = v;
        else if (a == "--tls" && (v == 0 || v == 1)) tls = v == 1;
        else {
            std::fprintf(stderr, "agent_idle_bench: bad option %s %s\nusage: agent_idle_bench [--seconds S] [--settle S] [--tls 0|1]\n",
                         argv[i], argv[i + 1]);
            return 2;
        }
    }
    if (argc % 2 == 0) {
        std::fprintf(stderr, "agent_idle_bench: option %s needs a value\n", argv[argc - 1]);
        return 2;
    }
    SystemOptions options;
    options.tls = tls;
    System sys(options);
    if (!sys.start()) {
        std::fprintf(stderr, "agent_idle_bench: the system did not come up; logs in %s\n", sys.log_dir().c_str());
        return 1;
    }
    std::vector<Watched> watched = {{"hisgate-agent", sys.agent("H001").pid(), {}},
                                    {"mosquitto", sys.broker().pid(), {}},
                                    {"his-sim", sys.sim("H001").pid(), {}},
                                    {"hisgate-controlplane", sys.controlplane().pid(), {}}};
    std::printf("system online (MQTT over %s); settling %d s, then sampling %d s\n", tls ? "TLS" : "plain TCP", settle,
                seconds);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(settle));

    auto start = Clock::now();
    for (int i = 0; i <= seconds; ++i) {
        std::this_thread::sleep_until(start + std::chrono::seconds(i));
        for (auto& w : watched)
            if (auto s = w.pid > 0 ? proc_stats(w.pid) : std::nullopt) w.samples.push_back(*s);
    }
    double measured = std::chrono::duration<double>(Clock::now() - start).count();
    long tick = sysconf(_SC_CLK_TCK);

    bool ok = true;
    double agent_rss = 0, agent_cpu = 0, broker_rss = 0, broker_cpu = 0;
    for (const auto& w : watched) {
        if (w.samples.size() < 2) {
            std::printf("RESULT %-20s not measured (pid %d)\n", w.name.c_str(), w.pid);
            if (w.name == "hisgate-agent") ok = false;
            continue;
        }
        std::vector<double> rss;
        for (const auto& s : w.samples) rss.push_back(s.rss_mb);
        double cpu = 100.0 * static_cast<double>(w.samples.back().cpu_ticks - w.samples.front().cpu_ticks) /
                     static_cast<double>(tick) / measured;
        std::printf("RESULT %-20s rss_mb=%.1f rss_max_mb=%.1f hwm_mb=%.1f threads=%d cpu_pct=%.3f samples=%zu\n",
                    w.name.c_str(), median(rss), *std::max_element(rss.begin(), rss.end()), w.samples.back().hwm_mb,
                    w.samples.back().threads, cpu, w.samples.size());
        if (w.name == "hisgate-agent") agent_rss = median(rss), agent_cpu = cpu;
        if (w.name == "mosquitto") broker_rss = median(rss), broker_cpu = cpu;
    }
    if (!sys.agent("H001").running()) {
        std::fprintf(stderr, "agent_idle_bench: the agent exited while measured\n");
        ok = false;
    }
    if (agent_rss > 0) std::printf("RATIO agent_rss/target_20MB %.3f\n", agent_rss / 20.0);
    if (agent_rss > 0 && broker_rss > 0) std::printf("RATIO agent_rss/mosquitto_rss %.2f\n", agent_rss / broker_rss);
    if (broker_cpu > 0) std::printf("RATIO agent_cpu/mosquitto_cpu %.2f\n", agent_cpu / broker_cpu);
    return ok ? 0 : 1;
}
