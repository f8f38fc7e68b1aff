// agent-swarm: thousands of light simulated agents in one process, each its own MQTT 5
// connection speaking the real presence and request protocol (swarm.h, light_agent.h), for
// the fleet-scale benchmark (bench/fleet_scale_bench.cpp) and its test slice.
#include <sys/resource.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "agent-swarm/swarm.h"
#include "common/log.h"
#include "common/program.h"
#include "common/config.h"
#include "common/settings.h"
#include "transport/topics.h"

using namespace hisgate;

static const std::string kUsage = std::string(R"(usage: agent-swarm --config FILE | --help | --version

Many light simulated agents in one process, one MQTT 5 connection each (plain TCP), all
on one epoll thread. Each speaks what a real hisgate-agent speaks on the broker: a will
and a retained birth per connection with a growing presence session, heartbeats on its
state topic, and answers to the requests on its request topic (canned results; no HIS
behind it). They reconnect as real agents do: at once after a loss, then with jittered
exponential backoff (transport/backoff.h). FILE is JSON:
  broker.host            string   IPv4 address of the broker (default 127.0.0.1)
  broker.port            int, required
  broker.password_dir    string, required   DIR/<hospital id>.password holds each agent's
                                  password; its broker user is its hospital id (the layout
                                  tests/support/broker.h writes)
  agents.count           int, required   how many agents (1..60000)
  agents.prefix          string   hospital ids are the prefix and a 5-digit number (default "S")
  agents.first           int      the first number (default 0)
  heartbeat_interval_ms  int      each agent's heartbeat period (default 30000), at its own phase
  keepalive_s            int      MQTT keep-alive (default 10, as agents)
  backoff_min_ms         int      reconnect backoff bounds (default 200 and 5000, as agents)
  backoff_max_ms         int
  start_spread_ms        int      first attempts spread over this long (default 0: all at once)
  session_base           int      each agent's first presence session is this + 1 (default:
                                  the wall clock in ms, so a restarted swarm counts on upwards)
  agents.version         string   the version the agents report (default: this build's)
  release.delay_ms       int      from a release.install task to the agent's restart at the
                                  new version (default 1000)
  release.broken_versions  [string]  installing one of these fails (below)
  release.broken_hospitals [string]  so does any install at these hospitals
  release.broken_mode    string   how: "rollback" (back at the new version with a failing
                                  probe, then at the old one: the updater's self-rollback),
                                  "probes" (stays at the new version, probe failing),
                                  "silent" (never answers, never changes); default rollback
  params_file            string   a hospital parameter file (JSON) every agent answers
                                  params.get with; its hash is the birth's paramsHash
  status_interval_ms     int      a status line on stdout this often (default 1000):
                                  "swarm agents=N online=N sessions=N failed=N refused=N
                                   losses=N heartbeats=N requests=N answers=N protocol_errors=N"
)") + kLogConfigHelp;

namespace {
// One descriptor per agent and a few more: raised as far as the hard limit allows (and the
// hard limit too when running as root).
bool raise_fd_limit(rlim_t wanted) {
    rlimit l{};
    if (getrlimit(RLIMIT_NOFILE, &l) != 0) return false;
    if (l.rlim_cur >= wanted) return true;
    if (l.rlim_max < wanted) l.rlim_max = wanted;  // allowed for root only
    l.rlim_cur = wanted;
    if (setrlimit(RLIMIT_NOFILE, &l) == 0) return true;
    getrlimit(RLIMIT_NOFILE, &l);
    l.rlim_cur = l.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur >= wanted;
}

void print_status(const swarm::SwarmFigures& f) {
    std::printf("swarm agents=%lld online=%lld sessions=%lld failed=%lld refused=%lld losses=%lld heartbeats=%lld "
                "requests=%lld answers=%lld protocol_errors=%lld\n",
                static_cast<long long>(f.agents), static_cast<long long>(f.online), static_cast<long long>(f.sessions),
                static_cast<long long>(f.failed_attempts), static_cast<long long>(f.refused),
                static_cast<long long>(f.losses), static_cast<long long>(f.heartbeats),
                static_cast<long long>(f.requests), static_cast<long long>(f.answers),
                static_cast<long long>(f.protocol_errors));
    std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "agent-swarm", kUsage);
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    swarm::SwarmOptions o;
    o.host = c.string("broker.host", "127.0.0.1");
    o.port = static_cast<uint16_t>(c.integer("broker.port", std::nullopt, 1, 65535));
    std::string password_dir = c.string("broker.password_dir", std::nullopt);
    int64_t count = c.integer("agents.count", std::nullopt, 1, 60000);
    std::string prefix = c.string("agents.prefix", "S");
    int64_t first = c.integer("agents.first", 0, 0, 99999);
    o.heartbeat_interval = std::chrono::milliseconds(c.integer("heartbeat_interval_ms", 30000, 100, 3600000));
    o.keepalive = std::chrono::seconds(c.integer("keepalive_s", 10, 0, 3600));
    o.backoff_min = std::chrono::milliseconds(c.integer("backoff_min_ms", 200, 1, 600000));
    o.backoff_max = std::chrono::milliseconds(c.integer("backoff_max_ms", 5000, 1, 600000));
    o.start_spread = std::chrono::milliseconds(c.integer("start_spread_ms", 0, 0, 3600000));
    const int64_t wall_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    o.session_base = c.integer("session_base", wall_ms, 0, int64_t{1} << 52);
    auto status_every = std::chrono::milliseconds(c.integer("status_interval_ms", 1000, 10, 3600000));
    o.version = c.string("agents.version", "");
    o.release.delay_ms = c.integer("release.delay_ms", 1000, 0, 3600000);
    for (auto [key, list] : {std::pair{"release.broken_versions", &o.release.broken_versions},
                             std::pair{"release.broken_hospitals", &o.release.broken_hospitals}}) {
        const nlohmann::json* given = c.section(key);
        if (!given) continue;
        if (!given->is_array() || given->size() > 100000) {
            c.problem(key, "an array of strings", describe_json_type(*given));
            continue;
        }
        for (const auto& v : *given)
            if (v.is_string()) list->push_back(v.get<std::string>());
            else c.problem(key, "an array of strings", describe_json_type(v));
    }
    o.release.mode = c.string("release.broken_mode", "rollback");
    if (o.release.mode != "rollback" && o.release.mode != "probes" && o.release.mode != "silent")
        c.problem("release.broken_mode", "rollback, probes or silent", "\"" + o.release.mode.substr(0, 64) + "\"");
    if (std::string params_path = c.string("params_file", ""); !params_path.empty()) {
        std::ifstream in(params_path);
        o.release.params_file = nlohmann::json::parse(in, nullptr, false);
        if (!o.release.params_file.is_object()) c.problem("params_file", "a JSON object in the file", params_path);
    }
    auto log_settings = read_log_settings(c);
    if (!topics::valid_hospital_id(prefix + "00000")) c.problem("agents.prefix", "1 to 59 characters of A-Z a-z 0-9 _ -", "\"" + prefix.substr(0, 64) + "\"");
    if (first + count > 100000) c.problem("agents", "agents.first + agents.count at most 100000 (5-digit numbers)", std::to_string(first + count));
    if (o.backoff_min > o.backoff_max) c.problem("backoff_min_ms", "at most backoff_max_ms", std::to_string(o.backoff_min.count()));
    if (auto done = c.finish(); !done) return invalid_config("agent-swarm", done.error());
    log::init("agent-swarm", log_settings.file, log_settings.level);

    for (int64_t i = first; i < first + count; ++i) {
        char number[24];
        std::snprintf(number, sizeof number, "%05lld", static_cast<long long>(i));
        std::string id = prefix + number;
        std::ifstream file(password_dir + "/" + id + ".password");
        std::string password((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        if (password.size() > 1024) password.clear();  // not a password file
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
        if (password.empty()) {
            std::fprintf(stderr, "agent-swarm: no password for %s in %s\n", id.c_str(), password_dir.c_str());
            return 2;
        }
        o.hospital_ids.push_back(std::move(id));
        o.passwords.push_back(std::move(password));
    }
    if (!raise_fd_limit(static_cast<rlim_t>(count) + 64)) {
        std::fprintf(stderr, "agent-swarm: cannot raise the open-file limit to %lld (ulimit -n)\n",
                     static_cast<long long>(count) + 64);
        return 2;
    }

    swarm::Swarm swarm(o);
    std::atomic<bool> stop{false};
    Result<void> outcome;
    std::thread loop([&] {
        outcome = swarm.run(stop);
        if (!outcome) ::kill(::getpid(), SIGTERM);  // ends the wait below
    });
    std::thread status([&] {
        while (!stop.load()) {
            print_status(swarm.figures());
            for (auto waited = std::chrono::milliseconds(0); waited < status_every && !stop.load();
                 waited += std::chrono::milliseconds(10))
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    log::info("swarm.started", {{"agents", count}, {"broker_port", o.port}, {"session_base", o.session_base}});
    wait_for_shutdown();
    stop = true;
    loop.join();
    status.join();
    print_status(swarm.figures());
    if (!outcome) {
        std::fprintf(stderr, "agent-swarm: %s\n", outcome.error().describe().c_str());
        return 1;
    }
    return 0;
}
