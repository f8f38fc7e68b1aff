// Bedside vitals at scale (issue 18, "Benchmarks"): N beds at 1 Hz on one agent. The
// agent's and the control plane's CPU and RSS, the latency from a monitor's message to the
// ward feed (p50/p99 for samples, and for alarms, high-priority ones apart: target p99 <=
// 1 s), and the samples lost between the simulator and the feed (target 0, the cloud up).
//
//   vitals_ward_bench [--beds N] [--seconds S] [--warmup W] [--alarm-every A] [--plain]
//                     (defaults 500, 60, 10, 20; --plain: Mosquitto without TLS)
//
// Real processes on free loopback ports (tests/support/system.h): Mosquitto (TLS and the
// production ACL unless --plain), the control plane, his-sim and one agent for H001 with its
// vitals gateway (the catalog's defaults but the discovery port, the ward network
// 127.0.0.1/32 and vitals.lost_after 10m: the run ends by stalling every monitor, which
// must not read as a failed connection), and one hisgate-monitor-sim with N monitors
// (unsolicited interface, 7 numeric samples a result, an alarm after every A results:
// two in three physiological, of which 1001/1002 high) stamping its HL7 times in
// milliseconds (time_precision). This program reads the control plane's ward feed
// (GET /api/v1/vitals/feed?hospital=H001, Server-Sent Events, a viewer's token) from
// before the first monitor starts.
//
// Latency: the feed's arrival time (this process's system clock) minus the sample's or
// alarm's observedAt, which is the simulator's system clock when it built the message, just
// before sending it. One machine, one clock: no skew between the two ends. Counted for
// events arriving in the measured window: S seconds starting W seconds after the agent
// reports every monitor connected. The CPU of each process is taken over the same window.
//
// Loss: after the window every monitor is stalled (it keeps its connection and sends no
// more), the simulator's counts are read (results x 7 samples, alarms), and the run waits
// for the agent's buffer to empty and the feed to go quiet. Then: sent by the simulator,
// stored by the agent (hisgate_vitals_stored_total), stored by the control plane (its
// samples and alarms tables) and seen on the feed (distinct device/sign/time), over the
// whole run.
//
// Prints RESULT lines. Exit status 1 when the system did not come up, not every monitor
// connected, or the feed broke; timing and loss never fail it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/sqlite.h"
#include "tests/support/event_stream.h"
#include "tests/support/monitor_sim.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr int kSamplesPerResult = 7;  // 52, 51, 151, 170, 171, 172, 200 (docs/monitor-sim.md)

struct Options {
    int beds = 500;
    int seconds = 60;
    int warmup = 10;
    int alarm_every = 20;
    bool tls = true;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (k == "--plain") {
            o.tls = false;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s wants a value\n", k.c_str());
            std::exit(2);
        }
        int v = std::atoi(argv[++i]);
        if (k == "--beds") o.beds = v;
        else if (k == "--seconds") o.seconds = v;
        else if (k == "--warmup") o.warmup = v;
        else if (k == "--alarm-every") o.alarm_every = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    if (o.beds < 1 || o.beds > 5000 || o.seconds < 1 || o.warmup < 0 || o.alarm_every < 0) {
        std::fprintf(stderr, "beds 1..5000, seconds >= 1, warmup >= 0, alarm-every >= 0\n");
        std::exit(2);
    }
    return o;
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What the feed brought: latencies inside the window, and every distinct sample and alarm.
struct FeedTally {
    std::mutex mu;
    int64_t window_from = INT64_MAX, window_to = INT64_MAX;  // arrival times (ms) counted
    std::vector<double> samples, alarms, high_alarms;         // ms, arrivals in the window
    std::unordered_set<std::string> seen_samples, seen_alarms;
    int64_t sample_events = 0, repeated_samples = 0, last_arrival = 0;

    void take(const std::string& event, const std::string& data) {
        if (event != "vitals" && event != "alarm") return;
        const int64_t at = now_ms();
        auto d = nlohmann::json::parse(data, nullptr, false);
        if (d.is_discarded()) return;
        std::lock_guard lock(mu);
        last_arrival = at;
        const bool in_window = at >= window_from && at < window_to;
        if (event == "vitals") {
            ++sample_events;
            for (const auto& s : d.value("samples", nlohmann::json::array())) {
                const int64_t observed = s.value("observedAt", int64_t{0});
                auto key = s.value("device", "") + "|" + s.value("name", "") + "|" + std::to_string(observed);
                if (!seen_samples.insert(std::move(key)).second) {
                    ++repeated_samples;
                    continue;
                }
                if (in_window) samples.push_back(static_cast<double>(at - observed));
            }
        } else if (d.value("change", "") == "raised") {
            const int64_t observed = d.value("observedAt", int64_t{0});
            auto key = d.value("device", "") + "|" + d.value("code", "") + "|" + std::to_string(observed);
            if (!seen_alarms.insert(std::move(key)).second) return;
            if (!in_window) return;
            alarms.push_back(static_cast<double>(at - observed));
            if (d.value("priority", "") == "high") high_alarms.push_back(static_cast<double>(at - observed));
        }
    }
};

void print_latency(const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
    std::printf("RESULT vitals_latency %-12s n %zu p50 %.0f ms p99 %.0f ms max %.0f ms\n", what, v.size(), at(0.50), at(0.99),
                v.empty() ? 0.0 : v.back());
}

int64_t count_rows(const std::string& db_file, const std::string& sql) {
    auto db = sql::Db::open(db_file, false);
    if (!db) return -1;
    auto st = db->prepare(sql);
    if (!st) return -1;
    st->bind(1, std::string("H001"));
    return st->step() ? st->integer(0) : -1;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const uint16_t discovery_port = free_port();
    SystemOptions so;
    so.hospitals = {"H001"};
    so.tls = o.tls;
    so.online_timeout = 60s;
    so.more_params["H001"] = nlohmann::json{{"vitals",
                                             {{"enabled", true},
                                              {"ward_networks", {"127.0.0.1/32"}},
                                              {"discovery", {{"bind", "0.0.0.0"}, {"port", discovery_port}}},
                                              {"lost_after", "10m"}}}}
                                 .dump();
    System s(so);
    if (!s.start()) {
        std::fprintf(stderr, "the system did not come up (logs in %s)\n", s.dir().c_str());
        return 1;
    }
    const uint16_t agent_metrics = s.agent_metrics_port("H001");
    auto agent_metric = [&](const std::string& series) {
        return metric_value(http_get(agent_metrics, "/metrics").body, series);
    };

    FeedTally tally;
    EventStream feed(s.api_port(), "/api/v1/vitals/feed?hospital=H001", s.bearer("viewer", "vitals-bench"),
                     [&](const std::string& e, const std::string& d) { tally.take(e, d); });
    if (feed.status() != 200) {
        std::fprintf(stderr, "the ward feed answered %d\n", feed.status());
        return 1;
    }

    MonitorSim sim(s.log_dir(), "bench",
                   {{"monitors", o.beds},
                    {"period_ms", 1000},
                    {"alarm_every", o.alarm_every},
                    {"time_precision", "milliseconds"},
                    {"discovery", {{"port", discovery_port}}}});
    const auto t_sim = Clock::now();
    if (!sim.start()) {
        std::fprintf(stderr, "monitor-sim did not start (log %s)\n", sim.log_file().c_str());
        return 1;
    }
    const std::string connected = "hisgate_vitals_monitors_by_state{state=\"connected\"}";
    auto all_connected = [&] {
        std::this_thread::sleep_for(200ms);  // the gauges move four times a second
        return agent_metric(connected) >= o.beds;
    };
    if (!eventually(all_connected, std::chrono::milliseconds(60000 + 60 * o.beds))) {
        std::fprintf(stderr, "only %.0f of %d monitors connected (logs in %s)\n", agent_metric(connected), o.beds,
                     s.log_dir().c_str());
        return 1;
    }
    std::printf("up: %d monitors connected to the agent %.1f s after monitor-sim started; %s; warmup %d s, window %d s, "
                "an alarm every %d results per bed\n",
                o.beds, std::chrono::duration<double>(Clock::now() - t_sim).count(), o.tls ? "MQTT over TLS" : "MQTT plain",
                o.warmup, o.seconds, o.alarm_every);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(o.warmup));

    // The window.
    CpuMeter cpu;
    cpu.watch("agent", s.agent("H001").pid());
    cpu.watch("controlplane", s.controlplane().pid());
    cpu.watch("mosquitto", s.broker().pid());
    cpu.watch("monitor-sim", sim.pid());
    cpu.watch("bench", getpid());
    const std::string stored_samples = "hisgate_vitals_stored_total{kind=\"sample\"}";
    const double stored_before = agent_metric(stored_samples);
    const double commits_before = agent_metric("hisgate_vitals_commits_total");
    {
        std::lock_guard lock(tally.mu);
        tally.window_from = now_ms();
        tally.window_to = tally.window_from + 1000LL * o.seconds;
    }
    cpu.begin();
    std::string load_during;
    double agent_rss_max = 0;
    for (int i = 0; i < o.seconds; ++i) {
        std::this_thread::sleep_for(1s);
        if (auto p = proc_stats(s.agent("H001").pid())) agent_rss_max = std::max(agent_rss_max, p->rss_mb);
        if (i == o.seconds / 2) load_during = loadavg();
    }
    double elapsed = 0;
    auto cpu_seconds = cpu.end(elapsed);
    const double stored_in_window = agent_metric(stored_samples) - stored_before;
    const double commits_in_window = agent_metric("hisgate_vitals_commits_total") - commits_before;
    const double waiting_at_end = agent_metric("hisgate_vitals_waiting");
    auto agent_now = proc_stats(s.agent("H001").pid());
    auto cp_now = proc_stats(s.controlplane().pid());
    auto sim_now = proc_stats(sim.pid());

    // The end: every monitor stops sending (stalled), then the counts.
    sim.fault("all", {{"kind", "stall"}});
    std::this_thread::sleep_for(500ms);
    int64_t sent_results = 0, sent_alarms = 0;
    auto status = sim.status();
    if (status.is_object())
        for (const auto& m : status["monitors"]) {
            sent_results += m["results"].get<int64_t>();
            sent_alarms += m["alarms"].get<int64_t>();
        }
    const int64_t sent_samples = sent_results * kSamplesPerResult;
    // Drained: nothing waits in the agent and the feed has been quiet for 3 s.
    eventually([&] {
        if (agent_metric("hisgate_vitals_waiting") > 0) return false;
        std::lock_guard lock(tally.mu);
        return static_cast<int64_t>(tally.seen_samples.size()) >= sent_samples || now_ms() - tally.last_arrival > 3000;
    }, 60s);
    std::this_thread::sleep_for(1s);
    const std::string cp_db = s.dir() + "/data/controlplane-cp1.db";
    const int64_t cp_samples = count_rows(cp_db, "SELECT count(*) FROM samples WHERE hospital_id = ?1");
    const int64_t cp_alarms = count_rows(cp_db, "SELECT count(*) FROM alarms WHERE hospital_id = ?1");
    const double agent_samples = agent_metric(stored_samples);
    const double agent_alarms = agent_metric("hisgate_vitals_stored_total{kind=\"alarm\"}");
    const double agent_dropped = agent_metric("hisgate_vitals_dropped_total{reason=\"store_backlog\"}") +
                                 agent_metric("hisgate_vitals_dropped_total{reason=\"store_failed\"}") +
                                 agent_metric("hisgate_vitals_dropped_total{reason=\"flood\"}");
    const double thinned = agent_metric("hisgate_vitals_thinned_total");

    std::lock_guard lock(tally.mu);
    const double rate = stored_in_window / elapsed;
    std::printf("RESULT vitals_ward beds %d samples_stored_per_s %.0f commits_per_s %.1f samples_per_commit %.0f "
                "waiting_at_window_end %.0f\n",
                o.beds, rate, commits_in_window / elapsed, commits_in_window > 0 ? stored_in_window / commits_in_window : 0.0,
                waiting_at_end);
    print_latency("samples", tally.samples);
    print_latency("alarms", tally.alarms);
    print_latency("high_alarms", tally.high_alarms);
    std::printf("RESULT vitals_cpu %s (per sample stored in the window)\n",
                cpu_report(cpu_seconds, elapsed, static_cast<uint64_t>(stored_in_window)).c_str());
    auto mem = [](const char* name, const std::optional<ProcStats>& p) {
        if (p) std::printf("RESULT vitals_memory %-12s rss %.1f MB hwm %.1f MB threads %d\n", name, p->rss_mb, p->hwm_mb, p->threads);
    };
    mem("agent", agent_now);
    mem("controlplane", cp_now);
    mem("monitor-sim", sim_now);
    std::printf("RESULT vitals_memory agent_rss_max_in_window %.1f MB\n", agent_rss_max);
    std::printf("RESULT vitals_loss samples sent %lld agent_stored %.0f cp_stored %lld feed_seen %zu lost_to_feed %lld "
                "feed_repeats %lld\n",
                static_cast<long long>(sent_samples), agent_samples, static_cast<long long>(cp_samples), tally.seen_samples.size(),
                static_cast<long long>(sent_samples - static_cast<int64_t>(tally.seen_samples.size())),
                static_cast<long long>(tally.repeated_samples));
    std::printf("RESULT vitals_loss alarms sent %lld agent_stored %.0f cp_stored %lld feed_raised %zu\n",
                static_cast<long long>(sent_alarms), agent_alarms, static_cast<long long>(cp_alarms), tally.seen_alarms.size());
    std::printf("agent drops (store_backlog + store_failed + flood) %.0f, thinned %.0f; feed ended early: %s; "
                "load average mid-window %s\n",
                agent_dropped, thinned, feed.ended() ? "yes" : "no", load_during.c_str());
    return feed.ended() ? 1 : 0;
}
