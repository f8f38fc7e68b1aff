// What the hospital's HIS sees when a burst of deferred work reaches its agent at once.
//
// Starts the whole system as real processes (tests/support/system.h: Mosquitto with TLS
// and the production ACL, his-sim, hisgate-agent, the control plane) with the HIS's caps
// set by its parameter file (his.concurrency, his.rate_per_minute) and his-sim answering
// after a fixed latency, so both caps are pressed: without the concurrency cap more calls
// would overlap, without the rate cap they would come faster. Then publishes N report.get
// requests at once to the agent's request topic as the control plane would (Envelope,
// response topic + correlation data, QoS 1, user "controlplane"), waits for every
// answer, and reads the HIS's own count of what it received (his-sim's GET /load:
// requests in flight, the most ever in flight, the most started in any 60 s).
//
//   his_burst_bench [--tasks N] [--concurrency C] [--rate-per-minute R] [--latency-ms L]
//                   [--publishers P] [--dialect-file F] [--broker-queue Q]
//                   (defaults 10000, 4, 3000, 60, 8, none, 100000)
//
// --broker-queue sets Mosquitto's max_queued_messages: the QoS 1 messages it holds for a
// client beyond those in flight. Mosquitto's default, 1000, drops the rest of a burst
// that arrives faster than the agent acknowledges it ("Outgoing messages are being
// dropped" in its log): give 1000 to see that.
//
// --dialect-file merges a tools/his-sim/dialects/*.json file into the HIS's parameters (default:
// HL7 v2 over MLLP, whose adapter keeps one session and sends one message at a time, so
// there at most one call is ever in flight; a REST dialect lets the concurrency cap bind).
//
// Prints the HIS's figures against the caps, the time to drain the burst, and the
// dwell (publish to answer) p50 and p99. Exit status 1 if a request went unanswered or
// answered with an error, or if the HIS saw either cap passed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
    int tasks = 10000;
    int concurrency = 4;
    int rate_per_minute = 3000;
    int latency_ms = 60;
    int publishers = 8;
    std::string dialect_file;
    int broker_queue = 100000;
};

// Requests sent and answered, by request id.
struct Ledger {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, Clock::time_point> sent;
    std::vector<double> dwell_seconds;
    int answered = 0, errors = 0, unknown = 0;
    Clock::time_point last_answer;
    std::string first_error;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::optional<nlohmann::json> his_load(System& sys) {
    auto reply = sys.sim("H001").running() ? http_get(sys.sim_control_port("H001"), "/load") : HttpReply{};
    if (reply.status != 200) return std::nullopt;
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    if (doc.is_discarded()) return std::nullopt;
    return doc;
}

int usage(const std::string& what) {
    std::fprintf(stderr,
                 "his_burst_bench: %s\nusage: his_burst_bench [--tasks N] [--concurrency C] [--rate-per-minute R] "
                 "[--latency-ms L] [--publishers P] [--dialect-file F] [--broker-queue Q]\n",
                 what.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage("missing value after " + a);
        if (a == "--dialect-file") {
            s.dialect_file = argv[i + 1];
            continue;
        }
        int v = std::atoi(argv[i + 1]);
        if (v <= 0 && !(a == "--latency-ms" && std::string(argv[i + 1]) == "0"))
            return usage("not a positive number for " + a + ": \"" + argv[i + 1] + "\"");
        if (a == "--tasks") s.tasks = v;
        else if (a == "--concurrency") s.concurrency = v;
        else if (a == "--rate-per-minute") s.rate_per_minute = v;
        else if (a == "--latency-ms") s.latency_ms = v;
        else if (a == "--publishers") s.publishers = v;
        else if (a == "--broker-queue") s.broker_queue = v;
        else return usage("unknown option " + a);
    }

    SystemOptions options;
    nlohmann::json his = nlohmann::json::object();
    if (!s.dialect_file.empty()) {
        his = nlohmann::json::parse(read_file(s.dialect_file), nullptr, false);
        if (his.is_discarded() || !his.is_object())
            return usage("the dialect file " + s.dialect_file + " is not a JSON object (a tools/his-sim/dialects/*.json file)");
    }
    his["concurrency"] = s.concurrency;
    his["rate_per_minute"] = s.rate_per_minute;
    options.his_params["H001"] = his.dump();
    options.sim_faults["H001"] = nlohmann::json{{"latency_ms", s.latency_ms}}.dump();
    System sys(options);
    // The broker's per-client queue must hold the burst (see --broker-queue).
    std::string broker_conf = sys.broker().dir() + "/mosquitto.conf";
    write_file(broker_conf, read_file(broker_conf) + "max_queued_messages " + std::to_string(s.broker_queue) + "\n");
    if (!sys.start()) {
        std::fprintf(stderr, "his_burst_bench: the system did not come up; logs in %s\n", sys.log_dir().c_str());
        return 1;
    }
    auto before = his_load(sys);
    if (!before) {
        std::fprintf(stderr, "his_burst_bench: his-sim does not answer GET /load on its control port\n");
        return 1;
    }

    // The control plane's side: its own instance id, so the system's control plane
    // (subscribed to its own responses) does not take these answers.
    const std::string instance = "burst";
    MqttOptions mo = sys.broker().mqtt_options("controlplane", "his-burst-bench");
    MqttLink link(mo);
    Ledger ledger;
    link.subscribe(topics::all_responses(instance), 1);
    link.on_message([&](const IncomingMessage& m) {
        auto now = Clock::now();
        auto reply = Envelope::parse(m.payload);
        std::lock_guard lock(ledger.mu);
        auto it = reply ? ledger.sent.find(reply->in_reply_to) : ledger.sent.end();
        if (it == ledger.sent.end()) {
            ++ledger.unknown;  // a duplicate (QoS 1) or not ours
            return;
        }
        ledger.dwell_seconds.push_back(std::chrono::duration<double>(now - it->second).count());
        ledger.sent.erase(it);
        ++ledger.answered;
        if (reply->error) {
            ++ledger.errors;
            if (ledger.first_error.empty()) ledger.first_error = reply->error->describe();
        }
        ledger.last_answer = now;
        ledger.cv.notify_all();
    });
    link.start();
    if (!link.wait_connected(std::chrono::seconds(10))) {
        std::fprintf(stderr, "his_burst_bench: cannot connect to the broker as controlplane\n");
        return 1;
    }

    // Every request made before the clock starts, so the burst is only publishing.
    std::vector<OutgoingMessage> requests;
    for (int i = 0; i < s.tasks; ++i) {
        auto e = Envelope::make("report.get", "H001", {{"reportId", "R-DEMO-1"}});
        OutgoingMessage m = OutgoingMessage::to(topics::request("H001"), e.to_json());
        m.response_topic = topics::response("H001", instance);
        m.correlation_data = e.id;
        requests.push_back(std::move(m));
        ledger.sent[e.id];
    }
    std::printf("system online; HIS dialect %s; caps: concurrency %d, %d per minute; his-sim latency %d ms; "
                "broker queue %d per client; publishing %d report.get\n",
                his.value("dialect", std::string("hl7v2-mllp")).c_str(), s.concurrency, s.rate_per_minute, s.latency_ms,
                s.broker_queue, s.tasks);
    std::fflush(stdout);

    // Sample the HIS's in-flight count while the burst drains (its own maximum is exact;
    // the samples show how full the caps were kept).
    std::atomic<bool> draining{true};
    std::vector<int> in_flight_samples;
    std::thread sampler([&] {
        while (draining) {
            if (auto load = his_load(sys)) in_flight_samples.push_back(load->value("inFlight", 0));
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });

    auto start = Clock::now();
    std::atomic<int> publish_failures{0};
    std::vector<std::thread> publishers;
    for (int p = 0; p < s.publishers; ++p)
        publishers.emplace_back([&, p] {
            for (int i = p; i < s.tasks; i += s.publishers) {
                {
                    std::lock_guard lock(ledger.mu);
                    ledger.sent[requests[i].correlation_data] = Clock::now();
                }
                auto sent = link.publish(requests[i]);
                if (!sent) {
                    if (publish_failures++ == 0)
                        std::fprintf(stderr, "his_burst_bench: publish failed: %s\n", sent.error().describe().c_str());
                }
            }
        });
    for (auto& p : publishers) p.join();
    double publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("published %d in %.1f s (%d failed)\n", s.tasks, publish_seconds, publish_failures.load());
    std::fflush(stdout);

    // Waits as long as answers keep coming; two minutes without one is a stall.
    bool all = false;
    {
        std::unique_lock lock(ledger.mu);
        auto progress = std::max(ledger.last_answer, Clock::now());
        while (!all && Clock::now() - progress < std::chrono::minutes(2)) {
            all = ledger.cv.wait_for(lock, std::chrono::seconds(5), [&] { return ledger.answered >= s.tasks; });
            progress = std::max(progress, ledger.last_answer);
        }
    }
    if (!all) {
        if (read_file(sys.broker().dir() + "/mosquitto.log").find("being dropped") != std::string::npos)
            std::fprintf(stderr, "his_burst_bench: Mosquitto dropped requests for the agent (its log: \"Outgoing messages "
                                 "are being dropped\"): its per-client queue (max_queued_messages %d) was too small for "
                                 "the burst\n", s.broker_queue);
        bool agent_up = sys.agent("H001").running();
        std::fprintf(stderr, "his_burst_bench: no answer for 2 minutes; giving up (the agent is %s; logs in %s%s)\n",
                     agent_up ? "still running" : "gone", sys.log_dir().c_str(),
                     std::getenv("HISGATE_KEEP_TEST_DIRS") ? "" : ", removed at exit unless HISGATE_KEEP_TEST_DIRS is set");
    }
    draining = false;
    sampler.join();
    auto after = his_load(sys);
    link.stop();

    std::lock_guard lock(ledger.mu);
    double drain = std::chrono::duration<double>(ledger.last_answer - start).count();
    int max_in_flight = after ? after->value("maxInFlight", -1) : -1;
    int max_60s = after ? after->value("maxStartedIn60s", -1) : -1;
    long his_requests = after ? after->value("started", 0L) - before->value("started", 0L) : 0;
    std::vector<int> busy = in_flight_samples;
    std::sort(busy.begin(), busy.end());
    int at_cap = static_cast<int>(std::count(busy.begin(), busy.end(), s.concurrency));

    std::printf("RESULT his_max_in_flight=%d cap=%d ratio=%.3f\n", max_in_flight, s.concurrency,
                static_cast<double>(max_in_flight) / s.concurrency);
    std::printf("RESULT his_max_started_in_60s=%d cap=%d ratio=%.3f\n", max_60s, s.rate_per_minute,
                static_cast<double>(max_60s) / s.rate_per_minute);
    std::printf("RESULT his_requests=%ld answered=%d errors=%d unanswered=%zu duplicates_or_strays=%d\n", his_requests,
                ledger.answered, ledger.errors, ledger.sent.size(), ledger.unknown);
    std::printf("RESULT drain_seconds=%.1f tasks_per_second=%.1f rate_cap_per_second=%.1f ratio=%.3f\n", drain,
                ledger.answered / drain, s.rate_per_minute / 60.0, (ledger.answered / drain) / (s.rate_per_minute / 60.0));
    std::printf("RESULT dwell_p50_seconds=%.1f dwell_p99_seconds=%.1f dwell_max_seconds=%.1f\n",
                percentile(ledger.dwell_seconds, 0.5), percentile(ledger.dwell_seconds, 0.99),
                percentile(ledger.dwell_seconds, 1.0));
    std::printf("RESULT in_flight_samples=%zu at_cap=%d (%.0f%%)\n", busy.size(), at_cap,
                busy.empty() ? 0.0 : 100.0 * at_cap / static_cast<double>(busy.size()));
    if (!ledger.first_error.empty()) std::printf("first error: %s\n", ledger.first_error.c_str());

    bool caps_held = max_in_flight >= 0 && max_in_flight <= s.concurrency && max_60s >= 0 && max_60s <= s.rate_per_minute;
    bool ok = all && ledger.errors == 0 && publish_failures == 0 && caps_held;
    std::printf("%s: %s\n", ok ? "PASS" : "FAIL",
                caps_held ? "the HIS never saw either cap passed" : "the HIS saw a cap passed (or could not tell)");
    return ok ? 0 : 1;
}
