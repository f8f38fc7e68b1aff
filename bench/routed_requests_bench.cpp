// Routed real-time requests per second and their latency, control plane -> 100 simulated
// agents over a loopback Mosquitto -> back (issue 13, "Benchmarks"), beside a direct MQTT
// request/response round trip through the same broker to the same agents (the ceiling),
// in one run.
//
//   routed_requests_bench [--agents N] [--concurrency C] [--seconds S] [--warmup S]
//                         [--agent-procs P] [--tls 0|1] [--phases ceiling,routed]
//                         [--controlplane-config JSON]
//                         (defaults 100, 32, 10, 3, 2, 1, ceiling,routed, {})
//
// --controlplane-config is merged into the control plane's configuration (an experiment:
// '{"results_db": ":memory:"}' keeps its stores in memory, one database each).
//
// Real processes on free loopback ports (tests/support/system.h): Mosquitto with the
// production ACL (TLS unless --tls 0), one hisgate-controlplane, and P processes of this
// program (--serve-agents) holding the N simulated agents between them. A simulated agent
// speaks the real protocol: it connects as its hospital's broker user with its last will
// (offline state), publishes the retained birth the registry accepts (capabilities,
// session, seq), subscribes to its request topic, and answers every request envelope at
// once with a reply envelope (Envelope::reply: a booking "booked") on the request's
// response topic with its correlation data, QoS 1, as an agent's outbox does. It does
// no HIS work: the figures are the platform's, not a HIS's.
//
// Both rows run closed loops of C requests in flight, each over the same agents in turn:
//   ceiling  one MQTT 5 client (broker user controlplane-bench) publishes request
//            envelopes (appointment.book, the body the control plane would send: booking,
//            facts, counts) to the agents' request topics with a response topic and
//            correlation data, and on each reply (matched by correlation data, topic and
//            in_reply_to) sends the next: what any router pays for the MQTT round trip.
//            Runs before the control plane starts, so nothing else hears the replies.
//   routed   C keep-alive HTTP/1.1 connections (one epoll thread) POST
//            /api/v1/hospitals/{id}/appointments with a patient's bearer token and a fresh
//            order id; the control plane authenticates, reads the platform's records,
//            keeps the task in its store, sends it to the agent, waits for the answer,
//            keeps it, notes the booking and answers 200.
// Each row: `warmup` seconds not counted, then `seconds` counted; requests completed in
// the counted window give req/s and the latency p50/p99 (send to complete answer). The
// requests in flight at the end are waited for; one unanswered or not 200 "booked" is an
// error. Connections beyond 32 come from 127.0.0.2, .3, ... (the API takes at most 32
// connections from one address, like a load balancer's several addresses).
//
// Prints a RESULT line per row, the RATIO lines, the load average before and after each
// row and each process's CPU (% of one core) during it. Exit status 1 on any error or if
// the system did not come up; timing never fails it (this machine is shared).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <mqtt/async_client.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "tests/support/proc_stats.h"
#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/limits.h"
#include "transport/tcp_nodelay.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kType = "appointment.book";
constexpr const char* kCeilingUser = "controlplane-bench";  // the broker gives controlplane-* the control plane's rights
constexpr const char* kCeilingInstance = "bench";

std::string hospital_id(int i) {
    char id[16];
    std::snprintf(id, sizeof id, "H%03d", i + 1);
    return id;
}

// YYYY-MM-DD, `days` from today (UTC). Bookings spread over four weeks, as slots are: the
// platform's per-day counts read one hospital's bookings of one date.
std::string utc_date(int days) {
    std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[16];
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

// The booking a patient's app sends (POST .../appointments).
nlohmann::json booking(const std::string& order_id, const std::string& patient_id, uint64_t n) {
    std::string date = utc_date(static_cast<int>(n % 28));
    return {{"orderId", order_id},
            {"slotId", "S-DR-" + std::to_string(100 + n % 20) + "-" + date},
            {"slot", {{"doctorId", "DR-" + std::to_string(100 + n % 20)}, {"departmentId", "D-INT"}, {"date", date},
                      {"half", n % 2 ? "AM" : "PM"}, {"feeCents", 2500}}},
            {"patient", {{"id", patient_id}, {"birthDate", "1980-01-01"}, {"sex", "female"}}}};
}

// ---- the simulated agents (--serve-agents FILE) --------------------------------------

// The state body of a real agent (agent/agent.cpp birth_body): what the registry reads.
nlohmann::json state_body(const std::string& hid, bool online, int64_t seq) {
    nlohmann::json body = {{"online", online},
                           {"session", 1},
                           {"seq", seq},
                           {"name", "Hospital " + hid},
                           {"region", "south"},
                           {"version", "0.9.0"},
                           {"protocol", {{"min", Envelope::kMinSchema}, {"max", Envelope::kMaxSchema}}},
                           {"adapter", "hl7v2-mllp"},
                           {"paramsHash", std::string(64, 'a')},
                           {"capabilities", nlohmann::json::array()},
                           {"caps", {{"concurrency", 4}, {"ratePerMinute", 600}}}};
    for (const char* t : {"appointment.book", "appointment.cancel", "payment.pay"})
        body["capabilities"].push_back({{"type", t}, {"class", "realtime"}, {"changesHis", true}});
    for (const char* t : {"report.get", "records.get"})
        body["capabilities"].push_back({{"type", t}, {"class", "deferred"}, {"changesHis", false}});
    return body;
}

std::string state_message(const std::string& hid, bool online, int64_t seq) {
    return Envelope::make("state", hid, state_body(hid, online, seq)).to_json();
}

mqtt::connect_options connect_options(const std::string& uri, const std::string& user, const std::string& password,
                                      const std::string& ca_file, std::optional<mqtt::message> will) {
    auto b = mqtt::connect_options_builder()
                 .mqtt_version(MQTTVERSION_5)
                 .clean_start(true)
                 .keep_alive_interval(std::chrono::seconds(30))
                 .connect_timeout(std::chrono::seconds(10))
                 .user_name(user)
                 .password(password);
    if (will) b.will(std::move(*will));
    if (uri.rfind("ssl://", 0) == 0)
        b.ssl(mqtt::ssl_options_builder().trust_store(ca_file).enable_server_cert_auth(true).verify(true).finalize());
    return b.finalize();
}

struct SimAgent {
    std::string hid;
    std::unique_ptr<mqtt::async_client> client;
    std::atomic<uint64_t> answered{0}, refused{0};
};

// Answers one request as an agent does (agent/agent.cpp on_message, then the outbox): the
// envelope read within its bounds, addressed to this hospital, a response topic inside
// its subtree; the reply carries the request's correlation data.
void answer(SimAgent& a, const mqtt::const_message_ptr& msg) {
    const auto& props = msg->get_properties();
    std::string response_topic = props.contains(mqtt::property::RESPONSE_TOPIC)
                                     ? mqtt::get<std::string>(props, mqtt::property::RESPONSE_TOPIC) : "";
    std::string correlation = props.contains(mqtt::property::CORRELATION_DATA)
                                  ? mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA) : "";
    auto request = Envelope::parse(msg->get_payload_str(), limits::kRequestBytes);
    if (!request || request->hospital_id != a.hid || !topics::valid_response_topic(response_topic, a.hid) ||
        correlation.size() > limits::kCorrelationBytes) {
        ++a.refused;
        return;
    }
    const auto& b = request->body;
    nlohmann::json body = {{"orderId", b.value("orderId", "")},
                           {"slotId", b.value("slotId", "")},
                           {"patientId", b.contains("patient") && b["patient"].is_object() ? b["patient"].value("id", "") : ""},
                           {"status", "booked"}};
    auto reply = mqtt::make_message(response_topic, request->reply(std::move(body)).to_json(), 1, false);
    mqtt::properties out;
    out.add({mqtt::property::CORRELATION_DATA, correlation});
    reply->set_properties(out);
    try {
        a.client->publish(reply);  // not waited for: this is Paho's receive thread
        ++a.answered;
    } catch (const mqtt::exception&) {
        ++a.refused;
    }
}

std::atomic<bool> g_stop{false};

// Holds the agents named in FILE ({"uri", "ca_file", "agents": [{"id", "password"}]})
// until SIGTERM; prints "agents ready" once every one is connected, subscribed and born.
int serve_agents(const std::string& file) {
    auto conf = nlohmann::json::parse(read_file(file), nullptr, false);
    if (!conf.is_object()) return std::fprintf(stderr, "serve-agents: cannot read %s\n", file.c_str()), 2;
    const std::string uri = conf["uri"], ca = conf.value("ca_file", "");
    std::vector<std::unique_ptr<SimAgent>> agents;
    std::vector<std::string> passwords;
    for (const auto& a : conf["agents"]) {
        auto agent = std::make_unique<SimAgent>();
        agent->hid = a["id"];
        passwords.push_back(a["password"]);
        // The client id is the user name (the broker enforces it): one connection per hospital.
        agent->client = std::make_unique<mqtt::async_client>(uri, agent->hid, mqtt::create_options(MQTTVERSION_5));
        SimAgent* self = agent.get();
        agent->client->set_message_callback([self](mqtt::const_message_ptr m) { answer(*self, m); });
        agent->client->set_connection_lost_handler([self](const std::string& cause) {
            std::fprintf(stderr, "serve-agents: %s lost its connection: %s\n", self->hid.c_str(), cause.c_str());
        });
        agents.push_back(std::move(agent));
    }
    // Each step for every agent at once, then waited for: Paho advances a connection in
    // its own cycles (about a second each with many clients), so one agent after the
    // other took minutes.
    auto all = [&](const char* step, const std::function<mqtt::token_ptr(SimAgent&, size_t)>& start) {
        std::vector<mqtt::token_ptr> tokens;
        try {
            for (size_t i = 0; i < agents.size(); ++i) tokens.push_back(start(*agents[i], i));
            for (size_t i = 0; i < tokens.size(); ++i)
                if (!tokens[i]->wait_for(std::chrono::seconds(60)))
                    throw mqtt::exception(MQTTASYNC_OPERATION_INCOMPLETE, agents[i]->hid + ": no answer");
        } catch (const mqtt::exception& e) {
            std::fprintf(stderr, "serve-agents: %s failed: %s\n", step, e.what());
            return false;
        }
        return true;
    };
    bool up = all("CONNECT", [&](SimAgent& a, size_t i) {
        mqtt::message will(topics::state(a.hid), state_message(a.hid, false, 1), 1, true);
        return a.client->connect(connect_options(uri, a.hid, passwords[i], ca, will));
    }) && all("SUBSCRIBE", [&](SimAgent& a, size_t) { return a.client->subscribe(topics::request(a.hid), 1); }) &&
              all("PUBLISH of the birth", [&](SimAgent& a, size_t) {
                  return a.client->publish(mqtt::make_message(topics::state(a.hid), state_message(a.hid, true, 2), 1, true));
              });
    if (!up) return 1;
    disable_nagle_towards(uri);  // as MqttLink does: Paho leaves Nagle on (transport/tcp_nodelay.h)
    std::printf("agents ready: %zu\n", agents.size());
    std::fflush(stdout);
    signal(SIGTERM, [](int) { g_stop = true; });
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uint64_t answered = 0, refused = 0;
    for (auto& a : agents) answered += a->answered, refused += a->refused;
    std::printf("agents answered %llu, refused %llu\n", static_cast<unsigned long long>(answered),
                static_cast<unsigned long long>(refused));
    std::fflush(stdout);
    _exit(refused == 0 ? 0 : 1);  // the broker sends the wills; nothing else to tidy
}

// ---- measuring --------------------------------------------------------------------------

// The requests completed in the counted window and their latencies, for one row.
class Window {
public:
    Window(Clock::time_point counted_from, Clock::time_point counted_until)
        : from_(counted_from), until_(counted_until) {}
    void done(Clock::time_point sent, Clock::time_point answered) {
        if (answered < from_ || answered >= until_) return;
        std::lock_guard lock(mu_);
        latencies_us_.push_back(std::chrono::duration<double, std::micro>(answered - sent).count());
    }
    size_t count() const { return latencies_us_.size(); }
    double percentile_ms(double p) {
        if (latencies_us_.empty()) return 0;
        std::sort(latencies_us_.begin(), latencies_us_.end());
        return latencies_us_[std::min(latencies_us_.size() - 1, static_cast<size_t>(p * latencies_us_.size()))] / 1000;
    }
    double seconds() const { return std::chrono::duration<double>(until_ - from_).count(); }

private:
    Clock::time_point from_, until_;
    std::mutex mu_;
    std::vector<double> latencies_us_;
};

struct RowResult {
    std::string name;
    size_t counted = 0;
    double rps = 0, p50 = 0, p99 = 0, max = 0;
    uint64_t sent = 0, errors = 0;
    std::string first_error;
};

RowResult summarize(const std::string& name, Window& w, uint64_t sent, uint64_t errors, std::string first_error) {
    RowResult r{name, w.count(), w.count() / w.seconds(), w.percentile_ms(0.50), w.percentile_ms(0.99),
                w.percentile_ms(1.0), sent, errors, std::move(first_error)};
    return r;
}

RowResult failed_row(const std::string& name, const std::string& why) {
    RowResult r;
    r.name = name;
    r.errors = 1;
    r.first_error = why;
    return r;
}

// ---- the ceiling: a direct MQTT request/response round trip ----------------------------

RowResult run_ceiling(Broker& broker, const std::vector<std::string>& hospitals, int concurrency, int warmup, int seconds) {
    struct Slot {
        std::string correlation, request_id, response_topic;
        Clock::time_point sent;
        bool waiting = false;
    };
    mqtt::async_client client(broker.uri(), kCeilingUser, mqtt::create_options(MQTTVERSION_5));
    std::mutex mu;
    std::condition_variable idle;
    std::vector<Slot> slots(static_cast<size_t>(concurrency));
    uint64_t next = 0, sent = 0, errors = 0;
    std::string first_error;
    std::atomic<bool> stopping{false};
    auto start = Clock::now() + std::chrono::milliseconds(200);
    Window window(start + std::chrono::seconds(warmup), start + std::chrono::seconds(warmup + seconds));
    auto fail = [&](const std::string& why) {  // under mu
        if (errors++ == 0) first_error = why;
    };
    // The body the control plane sends for a booking: the caller's booking, the patient's
    // facts and the day's counts (controlplane/booking_facts.cpp).
    auto request_body = [](uint64_t n) {
        auto b = booking("O-C-" + std::to_string(n), "P-BENCH-" + std::to_string(n % 32), n);
        b["patient"]["realNameVerified"] = false;
        b["patient"]["noShowCount"] = 0;
        b["counts"] = {{"doctorDay", 0}, {"departmentDay", 0}, {"patientDay", 0}, {"patientDepartmentDay", 0},
                       {"firstVisitsDay", 0}, {"followUpsDay", 0}, {"patientHoldsMorning", false},
                       {"patientHoldsAfternoon", false}, {"prepaid", false}, {"depositPaidCents", 0}};
        return b;
    };
    // Slot i's next request (under mu), to be published once mu is released: a publish
    // never waits while holding what the receive thread needs.
    auto next_request = [&](size_t i) {
        Slot& s = slots[i];
        uint64_t n = next++;
        const std::string& hid = hospitals[n % hospitals.size()];
        auto request = Envelope::make(kType, hid, request_body(n));
        s.correlation = std::to_string(i) + ":" + std::to_string(n);
        s.request_id = request.id;
        s.response_topic = topics::response(hid, kCeilingInstance);
        auto msg = mqtt::make_message(topics::request(hid), request.to_json(), 1, false);
        mqtt::properties props;
        props.add({mqtt::property::RESPONSE_TOPIC, s.response_topic});
        props.add({mqtt::property::CORRELATION_DATA, s.correlation});
        props.add({mqtt::property::MESSAGE_EXPIRY_INTERVAL, int32_t{4}});  // the control plane's 4 s wait
        msg->set_properties(props);
        s.sent = Clock::now();
        s.waiting = true;
        ++sent;
        return msg;
    };
    auto publish = [&](size_t i, const mqtt::message_ptr& msg) {
        try {
            client.publish(msg);
        } catch (const mqtt::exception& e) {
            std::lock_guard lock(mu);
            slots[i].waiting = false;
            fail(std::string("publish: ") + e.what());
            idle.notify_all();
        }
    };
    client.set_message_callback([&](mqtt::const_message_ptr m) {
        auto now = Clock::now();
        const auto& props = m->get_properties();
        std::string correlation = props.contains(mqtt::property::CORRELATION_DATA)
                                      ? mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA) : "";
        auto reply = Envelope::parse(m->get_payload_str());
        std::unique_lock lock(mu);
        size_t i = static_cast<size_t>(std::atoll(correlation.c_str()));
        if (i >= slots.size() || !slots[i].waiting || slots[i].correlation != correlation) {
            fail("a reply with unknown correlation data");
            return;
        }
        Slot& s = slots[i];
        s.waiting = false;
        if (m->get_topic() != s.response_topic || !reply || reply->in_reply_to != s.request_id || reply->error ||
            reply->body.value("status", "") != "booked")
            fail("a reply that does not answer its request: " + m->get_payload_str().substr(0, 200));
        else
            window.done(s.sent, now);
        if (stopping) return idle.notify_all();
        auto msg = next_request(i);
        lock.unlock();
        publish(i, msg);
    });
    try {
        // Every wait is bounded: a lost connection leaves a token that never completes.
        if (!client.connect(connect_options(broker.uri(), kCeilingUser, broker.password(kCeilingUser), broker.ca_file(),
                                            std::nullopt))
                 ->wait_for(std::chrono::seconds(20)) ||
            !client.subscribe(topics::all_responses(kCeilingInstance), 1)->wait_for(std::chrono::seconds(20)))
            return failed_row("ceiling", "connect or subscribe not acknowledged within 20 s");
    } catch (const mqtt::exception& e) {
        return failed_row("ceiling", std::string("connect: ") + e.what());
    }
    disable_nagle_towards(broker.uri());
    std::this_thread::sleep_until(start);
    for (size_t i = 0; i < slots.size(); ++i) {
        std::unique_lock lock(mu);
        auto msg = next_request(i);
        lock.unlock();
        publish(i, msg);
    }
    std::this_thread::sleep_until(start + std::chrono::seconds(warmup + seconds));
    stopping = true;
    std::unique_lock lock(mu);
    bool drained = idle.wait_for(lock, std::chrono::seconds(10), [&] {
        return std::none_of(slots.begin(), slots.end(), [](const Slot& s) { return s.waiting; });
    });
    for (const auto& s : slots)
        if (s.waiting) fail("no reply within 10 s after the run");
    (void)drained;
    lock.unlock();
    try {
        client.disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
    }
    std::lock_guard done(mu);
    return summarize("ceiling", window, sent, errors, first_error);
}

// ---- the routed row: HTTP through the control plane ----------------------------------------

struct Connection {
    int fd = -1;
    int index = 0;
    std::string token, patient;
    std::string in;
    Clock::time_point sent;
    bool waiting = false;
};

int open_connection(uint16_t port, int index) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000001u + static_cast<uint32_t>(index / 32));  // 127.0.0.1, .2, ...
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(port);
    peer.sin_addr.s_addr = htonl(0x7f000001u);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One complete HTTP/1.1 response at the front of `in`: its status, body and length, or
// nullopt while incomplete. Content-Length framing only (the API sends no chunks).
struct Response {
    int status = 0;
    bool close = false;
    std::string body;
    size_t length = 0;
};
std::optional<Response> take_response(const std::string& in) {
    auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string::npos) return std::nullopt;
    Response r;
    r.status = std::atoi(in.c_str() + 9);  // "HTTP/1.1 200 OK"
    size_t content_length = 0;
    std::string head = in.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    if (auto at = head.find("\r\ncontent-length:"); at != std::string::npos)
        content_length = static_cast<size_t>(std::atoll(head.c_str() + at + 17));
    r.close = head.find("\r\nconnection: close") != std::string::npos;
    if (in.size() < head_end + 4 + content_length) return std::nullopt;
    r.body = in.substr(head_end + 4, content_length);
    r.length = head_end + 4 + content_length;
    return r;
}

RowResult run_routed(System& sys, const std::vector<std::string>& hospitals, int concurrency, int warmup, int seconds) {
    std::vector<Connection> conns(static_cast<size_t>(concurrency));
    uint64_t next = 0, sent = 0, errors = 0;
    std::string first_error;
    auto fail = [&](const std::string& why) {
        if (errors++ == 0) first_error = why;
    };
    int ep = epoll_create1(0);
    for (int i = 0; i < concurrency; ++i) {
        auto& c = conns[static_cast<size_t>(i)];
        c.index = i;
        c.patient = "P-BENCH-" + std::to_string(i);
        c.token = sys.token("patient", c.patient);
        c.fd = open_connection(sys.api_port(), i);
        if (c.fd < 0 || c.token.empty()) {
            return failed_row("routed", "cannot connect to the API or make a token");
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    }
    auto send = [&](Connection& c) {
        uint64_t n = next++;
        const std::string& hid = hospitals[n % hospitals.size()];
        std::string body = booking("O-" + std::to_string(c.index) + "-" + std::to_string(n), c.patient, n).dump();
        std::string req = "POST /api/v1/hospitals/" + hid + "/appointments HTTP/1.1\r\nHost: 127.0.0.1:" +
                          std::to_string(sys.api_port()) + "\r\nAuthorization: Bearer " + c.token +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
        c.sent = Clock::now();
        c.waiting = true;
        ++sent;
        // Blocking socket: a request of ~1 KB always fits the send buffer of an idle connection.
        if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            c.waiting = false;
            fail("send failed on connection " + std::to_string(c.index));
        }
    };
    auto start = Clock::now();
    auto counted_until = start + std::chrono::seconds(warmup + seconds);
    Window window(start + std::chrono::seconds(warmup), counted_until);
    for (auto& c : conns) send(c);
    auto drain_deadline = counted_until + std::chrono::seconds(10);
    epoll_event events[64];
    char buf[16384];
    for (;;) {
        auto now = Clock::now();
        bool stopping = now >= counted_until;
        if (stopping && std::none_of(conns.begin(), conns.end(), [](const Connection& c) { return c.waiting; })) break;
        if (now >= drain_deadline) {
            for (auto& c : conns)
                if (c.waiting) fail("no answer within 10 s after the run");
            break;
        }
        int n = epoll_wait(ep, events, 64, 50);
        for (int e = 0; e < n; ++e) {
            auto& c = conns[events[e].data.u32];
            ssize_t got = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fail("the API closed connection " + std::to_string(c.index));
                epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                c.waiting = false;
                continue;
            }
            c.in.append(buf, static_cast<size_t>(got));
            auto r = take_response(c.in);
            if (!r) continue;
            auto done = Clock::now();
            c.in.erase(0, r->length);
            c.waiting = false;
            if (r->status != 200 || r->body.find("\"status\":\"booked\"") == std::string::npos)
                fail("HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200));
            else
                window.done(c.sent, done);
            if (r->close) {
                fail("the API closed a keep-alive connection");
                epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                continue;
            }
            if (done < counted_until) send(c);
        }
    }
    for (auto& c : conns)
        if (c.fd >= 0) ::close(c.fd);
    ::close(ep);
    return summarize("routed", window, sent, errors, first_error);
}

// ---- the run ------------------------------------------------------------------------------

void print_row(const RowResult& r, const std::string& load_before, const std::string& load_after, const std::string& cpu) {
    std::printf("RESULT %-8s req/s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f counted=%zu sent=%llu errors=%llu\n",
                r.name.c_str(), r.rps, r.p50, r.p99, r.max, r.counted, static_cast<unsigned long long>(r.sent),
                static_cast<unsigned long long>(r.errors));
    std::printf("LOAD   %-8s before=%s after=%s\n", r.name.c_str(), load_before.c_str(), load_after.c_str());
    std::printf("CPU    %-8s %s (%% of one core / CPU time per request)\n", r.name.c_str(), cpu.c_str());
    if (r.errors) std::printf("ERROR  %-8s first: %s\n", r.name.c_str(), r.first_error.c_str());
    std::fflush(stdout);
}

std::string self_path() {
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, static_cast<size_t>(n)) : "";
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "routed_requests_bench: %s\nusage: routed_requests_bench [--agents N] [--concurrency C] [--seconds S] "
                 "[--warmup S] [--agent-procs P] [--tls 0|1] [--phases ceiling,routed] [--controlplane-config JSON]\n",
                 why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--serve-agents") return serve_agents(argv[2]);
    int agents = 100, concurrency = 32, seconds = 10, warmup = 3, agent_procs = 2;
    bool tls = true;
    std::string phases = "ceiling,routed", controlplane_config = "{}";
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage(("option " + a + " needs a value").c_str());
        std::string v = argv[i + 1];
        int n = std::atoi(v.c_str());
        if (a == "--agents" && n > 0 && n <= 999) agents = n;
        else if (a == "--concurrency" && n > 0 && n <= 32 * 200) concurrency = n;
        else if (a == "--seconds" && n > 0) seconds = n;
        else if (a == "--warmup" && n >= 0) warmup = n;
        else if (a == "--agent-procs" && n > 0) agent_procs = n;
        else if (a == "--tls" && (v == "0" || v == "1")) tls = v == "1";
        else if (a == "--phases" && !v.empty()) phases = v;
        else if (a == "--controlplane-config" && nlohmann::json::parse(v, nullptr, false).is_object()) controlplane_config = v;
        else return usage(("bad option " + a + " " + v).c_str());
    }
    agent_procs = std::min(agent_procs, agents);
    log::init("routed_requests_bench", "/dev/null", log::Level::Error);

    std::vector<std::string> hospitals;
    for (int i = 0; i < agents; ++i) hospitals.push_back(hospital_id(i));
    SystemOptions options;
    options.hospitals = {};  // no real agents: the simulated ones below hold these users
    options.broker_users = hospitals;
    options.broker_users.push_back(kCeilingUser);
    options.tls = tls;
    options.controlplane_config = controlplane_config;
    System sys(options);
    if (!sys.broker().start()) return std::fprintf(stderr, "routed_requests_bench: the broker did not start\n"), 1;

    // The simulated agents, split over agent_procs processes (each Paho process reads all
    // its connections on one thread).
    std::vector<Process> agent_processes;
    for (int p = 0; p < agent_procs; ++p) {
        nlohmann::json conf = {{"uri", sys.broker().uri()}, {"ca_file", tls ? sys.broker().ca_file() : ""},
                               {"agents", nlohmann::json::array()}};
        for (int i = p; i < agents; i += agent_procs)
            conf["agents"].push_back({{"id", hospitals[static_cast<size_t>(i)]},
                                      {"password", sys.broker().password(hospitals[static_cast<size_t>(i)])}});
        std::string file = sys.dir() + "/etc/bench-agents-" + std::to_string(p) + ".json";
        write_file(file, conf.dump());
        agent_processes.emplace_back(std::vector<std::string>{self_path(), "--serve-agents", file},
                                     sys.log_dir() + "/bench-agents-" + std::to_string(p) + ".out");
        if (!agent_processes.back().start()) return std::fprintf(stderr, "routed_requests_bench: cannot start agents\n"), 1;
    }
    for (auto& p : agent_processes)
        if (!eventually([&] { return p.output().find("agents ready") != std::string::npos || !p.running(); },
                        std::chrono::seconds(60)) ||
            !p.running())
            return std::fprintf(stderr, "routed_requests_bench: the simulated agents did not come up:\n%s\n",
                                p.output().c_str()),
                   1;
    std::printf("%d simulated agents online in %d processes; MQTT over %s; %d in flight; %d s warm-up + %d s per row\n",
                agents, agent_procs, tls ? "TLS" : "plain TCP", concurrency, warmup, seconds);
    std::fflush(stdout);

    CpuMeter cpu;
    cpu.watch("mosquitto", sys.broker().pid());
    for (auto& p : agent_processes) cpu.watch("agents", p.pid());
    cpu.watch("bench", getpid());

    std::vector<RowResult> rows;
    bool ok = true;
    // The ceiling first: the control plane, once up, hears every hospital's responses.
    if (phases.find("ceiling") != std::string::npos) {
        std::string before = loadavg();
        cpu.begin();
        rows.push_back(run_ceiling(sys.broker(), hospitals, concurrency, warmup, seconds));
        double elapsed = 0;
        auto used = cpu.end(elapsed);
        print_row(rows.back(), before, loadavg(), cpu_report(used, elapsed, rows.back().sent));
    }
    if (phases.find("routed") != std::string::npos) {
        if (!sys.start_controlplane(0) ||
            !eventually([&] { return sys.online_hospitals().size() == hospitals.size(); }, std::chrono::seconds(30))) {
            std::fprintf(stderr, "routed_requests_bench: the control plane did not see every agent online; logs in %s\n",
                         sys.log_dir().c_str());
            return 1;
        }
        cpu.watch("controlplane", sys.controlplane().pid());
        std::string before = loadavg();
        cpu.begin();
        rows.push_back(run_routed(sys, hospitals, concurrency, warmup, seconds));
        double elapsed = 0;
        auto used = cpu.end(elapsed);
        print_row(rows.back(), before, loadavg(), cpu_report(used, elapsed, rows.back().sent));
    }
    for (const auto& r : rows) ok = ok && r.errors == 0 && r.counted > 0;
    if (rows.size() == 2 && rows[0].rps > 0 && rows[1].rps > 0) {
        const auto &c = rows[0], &r = rows[1];
        std::printf("RATIO routed/ceiling req/s=%.2f p50=%.2fx p99=%.2fx\n", r.rps / c.rps, r.p50 / c.p50, r.p99 / c.p99);
    }
    if (!rows.empty() && rows.back().name == "routed") {
        const auto& r = rows.back();
        std::printf("TARGET routed >= 5000 req/s: %s (%.2f of it); p99 <= 25 ms: %s (%.2f of it)\n",
                    r.rps >= 5000 ? "met" : "missed", r.rps / 5000, r.p99 <= 25 ? "met" : "missed", r.p99 / 25);
    }
    for (auto& p : agent_processes) {
        int status = p.stop();
        std::printf("%s", p.output().substr(p.output().find("agents answered") == std::string::npos
                                                 ? p.output().size() : p.output().find("agents answered")).c_str());
        if (status != 0) ok = false;
    }
    std::fflush(stdout);
    return ok ? 0 : 1;
}
