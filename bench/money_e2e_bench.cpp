// Money end to end (issue 15, "Benchmarks"): booking + payment flows per second and their
// latency through the real control plane, agent, his-sim and pay-sim, beside the plain
// routed request rate through the same processes (the ceiling) in the same run; then the
// time an IN_DOUBT payment takes to settle after his-sim lost its answer, and the time a
// payment the agent never carried takes to be refunded once the agent is back.
//
//   money_e2e_bench [--clients 1,8,32] [--seconds 10] [--warmup 2] [--poll-ms 10]
//                   [--settle 20] [--settle-batch 20] [--revoke 5] [--revoke-away-s 15]
//                   [--his-answer-ms 3000] [--his-rate-per-minute 100000]
//                   [--phases flows,settle,revoke]
//                   [--controlplane-config JSON]
//
// Real processes on free loopback ports (tests/support/system.h, pay_sim_process.h):
// Mosquitto with the production ACL and TLS, his-sim for H001 (HL7 v2 over MLLP,
// idempotent_orders=false), its agent, hisgate-pay-sim, and hisgate-controlplane with its
// ledgers (ledger.dir) and pay-sim as its provider. Timings are the products' defaults
// unless --controlplane-config (merged into the control plane's config) or --his-answer-ms
// (the agent's his.answer_timeout) say otherwise: the ledger's reply timeout 10 s, first
// probe 3 s doubling to 60 s; the control plane waits 5 s for an agent; the agent 3 s for
// the HIS. One exception: the agent's cap on requests to the HIS (his.rate_per_minute,
// default 600, a hospital's protective choice) is raised to its maximum, 100,000, unless
// --his-rate-per-minute says otherwise; at 600 every row measures that cap (10 HIS
// changes/s). The bench adds 14 slots of capacity 100,000 at his-sim (DR-101 and DR-102, the
// next 7 days; his-sim pushes them to the agent) and waits until the control plane's
// public partition holds them: a booking's body is built from the slot there.
//
// flows   per client count C (--clients), two rows, each `warmup` s not counted then
//         `seconds` s counted, C client threads in closed loops, each its own patient
//         (bearer token) and keep-alive connections from 127.0.0.2 (the API takes at most
//         32 connections from one address; pay-sim's notifications come from 127.0.0.1):
//   routed  POST /api/v1/hospitals/H001/appointments, a fresh order id on a bench slot:
//           the control plane sends it to the agent, the agent books at his-sim over its
//           HL7 session, 200 "booked" back. One HIS change per request: the ceiling.
//   flows   one flow: POST /api/v1/bookings (a bench slot) and POST /api/v1/payments
//           (25.00 CNY), each with its Idempotency-Key; the patient pays at pay-sim's
//           checkout (POST /v3/checkout/{prepayId}); then GET /api/v1/transactions/{id}
//           every --poll-ms for both until both are POSTED (pay-sim notifies the control
//           plane, signed; the ledger dispatches payment.pay to the agent; his-sim
//           commits; the ledger posts). Two HIS changes per flow. A flow's latency is
//           from its first request to the poll that saw the second POSTED (the poll
//           interval is in it). A flow that ends in another terminal state is an error.
//         Flows or requests completed in the counted window give the rate and p50/p99;
//         the ones running at the end are waited for (60 s). RATIO: flows/s against
//         routed req/s at the same C (0.5 is what two HIS changes per flow allow).
// settle  --settle payments one at a time, each after arming his-sim's drop_after_commit 1
//         (it commits the payment and loses the answer): the ledger's history gives
//         DISPATCHED → CONFIRMED (and → POSTED), and how many passed IN_DOUBT. With the
//         defaults none does: the agent's own status query after its 3 s answer timeout
//         settles the change within the control plane's 5 s wait. A payment.pay wait
//         shorter than the agent's (--controlplane-config '{"request_timeouts_ms":
//         {"payment.pay": 2000}}') leaves it to the ledger: IN_DOUBT, then its probes. Then
//         --settle-batch payments at once with drop_after_commit N, and the time from the
//         first dispatch to the last POSTED.
// revoke  the agent frozen (SIGSTOP); --revoke payments created, paid and dispatched to it;
//         the agent killed (SIGKILL) with them unrun: unanswered, IN_DOUBT; after --revoke-away-s the agent restarts; a probe finds no
//         payment, the ledger revokes it at the HIS and refunds at pay-sim. Time from the
//         agent online again to REFUNDED, and from dispatch to REFUNDED.
//
// Prints RESULT, RATIO, SETTLE and REVOKE lines, the load average around each row and
// each process's CPU during it. Exit status 1 on any error or if the system did not come
// up; timing never fails it (this machine is shared).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "tests/support/pay_sim_process.h"
#include "tests/support/proc_stats.h"
#include "tests/support/raw_socket.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kHospital = "H001";
constexpr const char* kAmount = "25.00";  // the slots' fee, paid as the payment
constexpr int kFeeCents = 2500;

// YYYY-MM-DD, `days` from today (UTC).
std::string utc_date(int days) {
    std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[16];
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

// The bench's slots at his-sim: whole-day quotas large enough never to fill.
struct BenchSlot {
    std::string id;
    json fields;
};
std::vector<BenchSlot> bench_slots() {
    std::vector<BenchSlot> out;
    for (int day = 1; day <= 7; ++day)
        for (const char* doctor : {"DR-101", "DR-102"}) {
            std::string date = utc_date(day);
            out.push_back({std::string("S-BENCH-") + doctor + "-" + date,
                           {{"doctorId", doctor}, {"departmentId", "D-INT"}, {"date", date}, {"start", ""},
                            {"end", ""}, {"half", ""}, {"capacity", 100000}, {"booked", 0}, {"feeCents", kFeeCents}}});
        }
    return out;
}

// Milliseconds since the epoch of an ISO time the API writes ("2026-12-06T01:21:34.123Z").
int64_t iso_ms(const std::string& iso) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec, &ms) < 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// When the transaction first entered `state` (its history), or -1.
int64_t entered(const json& t, const std::string& state) {
    for (const auto& e : t.value("history", json::array()))
        if (e.value("to", "") == state) return iso_ms(e.value("at", ""));
    return -1;
}

// ---- keep-alive HTTP/1.1 over one connection -------------------------------------------

// One client's connection to one server, from a loopback address of its own, kept alive
// between requests. Content-Length framing only (neither server sends chunks).
class KeptConnection {
public:
    KeptConnection(uint16_t port, std::string source) : port_(port), source_(std::move(source)) {}

    HttpReply exchange(const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
        std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n";
        for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
        if (method != "GET") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        // A second try only when nothing came back at all: the server had closed the idle
        // connection before the request (every money request carries its Idempotency-Key,
        // and a checkout paid twice answers the same payment, so a repeat is harmless).
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!socket_) socket_ = std::make_unique<RawSocket>(port_, source_);
            std::string raw;
            if (socket_->connected() && socket_->send(req)) raw = socket_->read_response(std::chrono::seconds(30));
            if (raw.empty()) {
                socket_.reset();
                ++reconnects;
                continue;
            }
            HttpReply r;
            auto head_end = raw.find("\r\n\r\n");
            if (raw.rfind("HTTP/1.", 0) == 0 && head_end != std::string::npos) {
                r.status = std::atoi(raw.c_str() + 9);
                r.body = raw.substr(head_end + 4);
            }
            std::string head = raw.substr(0, head_end);
            std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
            if (r.status == 0 || head.find("connection: close") != std::string::npos) socket_.reset();
            return r;
        }
        return {};
    }

    int reconnects = 0;

private:
    uint16_t port_;
    std::string source_;
    std::unique_ptr<RawSocket> socket_;
};

// ---- one client ---------------------------------------------------------------------------

struct Client {
    int index = 0;
    std::string patient;
    std::map<std::string, std::string> auth;
    KeptConnection api, pay;
    uint64_t polls = 0;
    std::vector<std::string> posted;  // payment and booking ids of the flows completed, for the stages

    Client(int i, System& sys, uint16_t pay_port)
        : index(i),
          patient("PB" + std::to_string(i)),
          auth(sys.bearer("patient", "PB" + std::to_string(i))),
          api(sys.api_port(), source(i)),
          pay(pay_port, source(i)) {}

    // 127.0.0.2 for the first 32 clients, .3 for the next: never the address pay-sim's
    // notifications come from, and never more than the API's 32 connections per address.
    static std::string source(int i) { return "127.0.0." + std::to_string(2 + i / 32); }

    std::map<std::string, std::string> keyed(const std::string& key) const {
        auto h = auth;
        h["Idempotency-Key"] = key;
        return h;
    }

    json transaction(const std::string& id) {
        auto r = api.exchange("GET", "/api/v1/transactions/" + id, "", auth);
        auto doc = r.status == 200 ? json::parse(r.body, nullptr, false) : json();
        return doc.is_object() ? doc : json::object();
    }

    // A payment created and paid at the provider: its id, or an error in `why`.
    std::string pay_one(const std::string& key, std::string& why) {
        json body = {{"hospitalId", kHospital}, {"patientId", patient}, {"amount", kAmount},
                     {"currency", "CNY"},       {"purpose", "registration fee"}};
        auto created = api.exchange("POST", "/api/v1/payments", body.dump(), keyed(key));
        auto doc = json::parse(created.body, nullptr, false);
        if (created.status != 201 || !doc.is_object() || !doc.contains("checkout")) {
            why = "payment: HTTP " + std::to_string(created.status) + " " + created.body.substr(0, 200);
            return "";
        }
        auto paid = pay.exchange("POST", "/v3/checkout/" + doc["checkout"].value("prepayId", ""), "{}", {});
        if (paid.status != 200) {
            why = "checkout: HTTP " + std::to_string(paid.status) + " " + paid.body.substr(0, 200);
            return "";
        }
        return doc.value("transactionId", "");
    }

    // Polls every `poll` until each id is in `state`; an error if one ends in another
    // terminal state or `limit` passes.
    std::string wait_for(std::vector<std::string> ids, const std::string& state, std::chrono::milliseconds poll,
                         std::chrono::seconds limit) {
        auto deadline = Clock::now() + limit;
        while (!ids.empty()) {
            for (size_t i = 0; i < ids.size();) {
                ++polls;
                auto now = transaction(ids[i]).value("state", "");
                if (now == state) {
                    ids.erase(ids.begin() + static_cast<long>(i));
                    continue;
                }
                if (now == "POSTED" || now == "VOIDED" || now == "REFUNDED")
                    return "transaction " + ids[i] + " ended " + now + ", not " + state;
                ++i;
            }
            if (ids.empty()) break;
            if (Clock::now() > deadline) return "transaction " + ids.front() + " not " + state + " within the limit";
            std::this_thread::sleep_for(poll);
        }
        return "";
    }
};

const BenchSlot& slot_for(const std::vector<BenchSlot>& slots, uint64_t n) { return slots[n % slots.size()]; }

// One booking + payment flow to both POSTED; "" or what went wrong.
std::string one_flow(Client& c, const std::vector<BenchSlot>& slots, uint64_t n, std::chrono::milliseconds poll) {
    const std::string tag = std::to_string(c.index) + "-" + std::to_string(n);
    json booking = {{"hospitalId", kHospital}, {"slotId", slot_for(slots, n).id}, {"patientId", c.patient}};
    auto booked = c.api.exchange("POST", "/api/v1/bookings", booking.dump(), c.keyed("bk-" + tag));
    auto doc = json::parse(booked.body, nullptr, false);
    if (booked.status != 201 || !doc.is_object())
        return "booking: HTTP " + std::to_string(booked.status) + " " + booked.body.substr(0, 200);
    std::string why;
    std::string payment = c.pay_one("py-" + tag, why);
    if (payment.empty()) return why;
    const std::string booking_id = doc.value("transactionId", "");
    auto error = c.wait_for({booking_id, payment}, "POSTED", poll, std::chrono::seconds(60));
    if (error.empty()) c.posted.insert(c.posted.end(), {payment, booking_id});
    return error;
}

double percentile(std::vector<double> v, double p);

// Where a flow's time goes, from the ledger's own history of a sample of the flows a row
// completed, read after the row (so the reads do not load it): per kind, the p50/p99 of
// each step between two states, in ms.
void print_stages(int clients, std::vector<std::unique_ptr<Client>>& all, size_t sample) {
    std::map<std::string, std::vector<double>> steps;
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {"CREATED", "HELD"}, {"HELD", "DISPATCHED"}, {"DISPATCHED", "CONFIRMED"}, {"CONFIRMED", "POSTED"}};
    const size_t per_client = sample * 2 / all.size() + 2;  // two transactions per flow, the last ones
    for (auto& c : all)
        for (size_t i = c->posted.size() > per_client ? c->posted.size() - per_client : 0; i < c->posted.size(); ++i) {
            auto t = c->transaction(c->posted[i]);
            std::string kind = t.value("kind", "?");
            for (const auto& [from, to] : pairs) {
                int64_t a = entered(t, from), b = entered(t, to);
                if (a >= 0 && b >= 0) steps[kind + " " + from + "->" + to].push_back(static_cast<double>(b - a));
            }
        }
    for (auto& [name, v] : steps)
        std::printf("STAGE  c=%-3d %-32s n=%zu p50_ms=%.0f p99_ms=%.0f\n", clients, name.c_str(), v.size(),
                    percentile(v, 0.5), percentile(v, 0.99));
    std::fflush(stdout);
}

// One request routed to the agent and his-sim and back: the booking a patient's app sends.
std::string one_routed(Client& c, const std::vector<BenchSlot>& slots, uint64_t n) {
    const auto& s = slot_for(slots, n);
    json slot = json::object();  // the slot as a booking names it (money::booking_body's fields)
    for (const char* field : {"doctorId", "departmentId", "date", "start", "end", "half", "feeCents"}) slot[field] = s.fields[field];
    json body = {{"orderId", "R-" + std::to_string(c.index) + "-" + std::to_string(n)},
                 {"slotId", s.id},
                 {"slot", slot},
                 {"patient", {{"id", c.patient}, {"birthDate", "1980-01-01"}, {"sex", "female"}}}};
    auto r = c.api.exchange("POST", std::string("/api/v1/hospitals/") + kHospital + "/appointments", body.dump(), c.auth);
    if (r.status != 200 || r.body.find("\"status\":\"booked\"") == std::string::npos)
        return "routed: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
    return "";
}

// ---- rows -----------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct RowResult {
    std::string name;
    int clients = 0;
    size_t counted = 0;
    double rate = 0, p50 = 0, p99 = 0, max = 0, polls_per_flow = 0;
    uint64_t done = 0, errors = 0;
    std::string first_error;
};

// C clients in closed loops of `one` for warmup + seconds; what completed in the counted
// window gives the rate and the latencies (ms). What runs at the end is finished, not
// counted, its errors counted.
RowResult run_row(const std::string& name, std::vector<std::unique_ptr<Client>>& clients, int warmup, int seconds,
                  const std::function<std::string(Client&, uint64_t)>& one) {
    RowResult r;
    r.name = name;
    r.clients = static_cast<int>(clients.size());
    std::mutex mu;
    std::vector<double> latencies;
    std::atomic<uint64_t> next{0};
    for (auto& c : clients) c->polls = 0;
    auto start = Clock::now();
    auto from = start + std::chrono::seconds(warmup), until = from + std::chrono::seconds(seconds);
    std::vector<std::thread> threads;
    for (auto& c : clients)
        threads.emplace_back([&, client = c.get()] {
            while (Clock::now() < until) {
                auto sent = Clock::now();
                std::string error = one(*client, next++);
                auto done = Clock::now();
                std::lock_guard lock(mu);
                ++r.done;
                if (!error.empty()) {
                    if (r.errors++ == 0) r.first_error = error;
                } else if (sent >= from && done < until) {
                    latencies.push_back(std::chrono::duration<double, std::milli>(done - sent).count());
                }
            }
        });
    for (auto& t : threads) t.join();
    uint64_t polls = 0;
    for (auto& c : clients) polls += c->polls;
    r.counted = latencies.size();
    r.rate = static_cast<double>(r.counted) / seconds;
    r.p50 = percentile(latencies, 0.50);
    r.p99 = percentile(latencies, 0.99);
    r.max = percentile(latencies, 1.0);
    r.polls_per_flow = r.done ? static_cast<double>(polls) / static_cast<double>(r.done) : 0;
    return r;
}

void print_row(const RowResult& r, const std::string& before, const std::string& after, const std::string& cpu) {
    std::printf("RESULT %-6s c=%-3d %s/s=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f counted=%zu done=%llu errors=%llu",
                r.name.c_str(), r.clients, r.name == "flows" ? "flows" : "req", r.rate, r.p50, r.p99, r.max, r.counted,
                static_cast<unsigned long long>(r.done), static_cast<unsigned long long>(r.errors));
    if (r.name == "flows") std::printf(" polls/flow=%.1f", r.polls_per_flow);
    std::printf("\nLOAD   %-6s c=%-3d before=%s after=%s\n", r.name.c_str(), r.clients, before.c_str(), after.c_str());
    std::printf("CPU    %-6s c=%-3d %s (%% of one core / CPU time per %s)\n", r.name.c_str(), r.clients, cpu.c_str(),
                r.name == "flows" ? "flow" : "request");
    if (r.errors) std::printf("ERROR  %-6s c=%-3d first: %s\n", r.name.c_str(), r.clients, r.first_error.c_str());
    std::fflush(stdout);
}

// ---- settling ----------------------------------------------------------------------------------

bool arm_drop(System& sys, int n) {
    return http_send(sys.sim_control_port(kHospital), "PUT", "/faults", json{{"drop_after_commit", n}}.dump()).status == 200;
}

struct Settled {
    std::vector<double> confirm_s, post_s;  // from DISPATCHED
    int in_doubt = 0, errors = 0;
    int64_t first_dispatch = -1, last_posted = -1;
    std::string first_error;
    void fail(const std::string& why) {
        if (errors++ == 0) first_error = why;
    }
    void take(const json& t) {
        int64_t d = entered(t, "DISPATCHED"), c = entered(t, "CONFIRMED"), p = entered(t, "POSTED");
        if (d < 0 || c < 0 || p < 0) return fail("history without DISPATCHED, CONFIRMED and POSTED: " + t.dump().substr(0, 300));
        if (entered(t, "IN_DOUBT") >= 0) ++in_doubt;
        confirm_s.push_back((c - d) / 1000.0);
        post_s.push_back((p - d) / 1000.0);
        first_dispatch = first_dispatch < 0 ? d : std::min(first_dispatch, d);
        last_posted = std::max(last_posted, p);
    }
};

void print_settled(const char* name, const Settled& s, size_t asked) {
    std::printf("SETTLE %-5s n=%zu in_doubt=%d confirmed_p50_s=%.2f confirmed_p99_s=%.2f confirmed_max_s=%.2f "
                "posted_p50_s=%.2f posted_p99_s=%.2f",
                name, asked, s.in_doubt, percentile(s.confirm_s, 0.5), percentile(s.confirm_s, 0.99),
                percentile(s.confirm_s, 1.0), percentile(s.post_s, 0.5), percentile(s.post_s, 0.99));
    if (s.first_dispatch >= 0 && std::string(name) == "batch")
        std::printf(" first_dispatch_to_last_posted_s=%.2f", (s.last_posted - s.first_dispatch) / 1000.0);
    std::printf(" errors=%d\n", s.errors);
    if (s.errors) std::printf("ERROR  settle-%s first: %s\n", name, s.first_error.c_str());
    std::fflush(stdout);
}

// `count` payments whose answers his-sim loses, `together` at once or one after the other.
Settled settle(System& sys, Client& c, int count, bool together, const std::string& tag) {
    Settled s;
    std::vector<std::string> ids;
    auto one = [&](int i) {
        std::string why, id = c.pay_one("settle-" + tag + "-" + std::to_string(i), why);
        if (id.empty()) s.fail(why);
        else ids.push_back(id);
        return id;
    };
    if (together) {
        if (!arm_drop(sys, count)) s.fail("his-sim did not take drop_after_commit");
        for (int i = 0; i < count; ++i) one(i);
        if (auto why = c.wait_for(ids, "POSTED", std::chrono::milliseconds(100), std::chrono::seconds(600)); !why.empty())
            s.fail(why);
    } else {
        for (int i = 0; i < count; ++i) {
            if (!arm_drop(sys, 1)) s.fail("his-sim did not take drop_after_commit");
            auto id = one(i);
            if (id.empty()) continue;
            if (auto why = c.wait_for({id}, "POSTED", std::chrono::milliseconds(50), std::chrono::seconds(300)); !why.empty())
                s.fail(why);
        }
    }
    for (const auto& id : ids) s.take(c.transaction(id));
    arm_drop(sys, 0);
    return s;
}

// Payments dispatched to an agent that never ran them and then went away, refunded once it
// is back. They leave while the registry still holds the agent online, but the agent is
// frozen (SIGSTOP) and then killed with them unrun: an agent the registry already holds
// offline is never sent a change (a new payment answers 503 hospital.offline, docs/ledger.md).
bool revoke(System& sys, Client& c, int count, int away_s) {
    int errors = 0;
    std::string first_error;
    auto fail = [&](const std::string& why) {
        if (errors++ == 0) first_error = why;
    };
    ::kill(sys.agent(kHospital).pid(), SIGSTOP);
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
        std::string why, id = c.pay_one("revoke-" + std::to_string(i), why);
        if (id.empty()) fail(why);
        else ids.push_back(id);
    }
    if (!eventually(
            [&] {
                for (const auto& id : ids)
                    if (entered(c.transaction(id), "DISPATCHED") < 0) return false;
                return true;
            },
            std::chrono::seconds(30)))
        fail("the payments were not dispatched");
    auto killed = Clock::now();
    sys.agent(kHospital).kill9();
    if (!eventually([&] { return sys.online_hospitals().empty(); }, std::chrono::seconds(30))) fail("the agent stayed online");
    if (auto why = c.wait_for(ids, "IN_DOUBT", std::chrono::milliseconds(100), std::chrono::seconds(120)); !why.empty())
        fail(why);
    std::this_thread::sleep_until(killed + std::chrono::seconds(away_s));
    if (!sys.start_agent(kHospital) ||
        !eventually([&] { return sys.online_hospitals().size() == 1; }, std::chrono::seconds(60)))
        fail("the agent did not come back");
    int64_t back = wall_ms();
    if (auto why = c.wait_for(ids, "REFUNDED", std::chrono::milliseconds(100), std::chrono::seconds(600)); !why.empty())
        fail(why);
    std::vector<double> from_back, from_dispatch;
    for (const auto& id : ids) {
        auto t = c.transaction(id);
        int64_t d = entered(t, "DISPATCHED"), r = entered(t, "REFUNDED");
        if (d < 0 || r < 0) {
            fail("history without DISPATCHED and REFUNDED: " + t.dump().substr(0, 300));
            continue;
        }
        from_back.push_back((r - back) / 1000.0);
        from_dispatch.push_back((r - d) / 1000.0);
    }
    std::printf("REVOKE n=%zu away_s=%d back_to_refunded_p50_s=%.2f back_to_refunded_max_s=%.2f "
                "dispatch_to_refunded_p50_s=%.2f dispatch_to_refunded_max_s=%.2f errors=%d\n",
                ids.size(), away_s, percentile(from_back, 0.5), percentile(from_back, 1.0), percentile(from_dispatch, 0.5),
                percentile(from_dispatch, 1.0), errors);
    if (errors) std::printf("ERROR  revoke first: %s\n", first_error.c_str());
    std::fflush(stdout);
    return errors == 0;
}

// Waits until the control plane's public partition holds every bench slot (its change
// stream, read as a replica would).
bool slots_published(System& sys, const std::vector<BenchSlot>& slots) {
    auto token = sys.bearer("service", "money-bench");
    std::string seen;
    int64_t after = 0;
    return eventually(
        [&] {
            auto r = sys.get("/api/v1/replication/stream?after=" + std::to_string(after) + "&wait_ms=0", token);
            auto doc = json::parse(r.body, nullptr, false);
            if (r.status != 200 || !doc.is_object()) return false;
            for (const auto& e : doc.value("entries", json::array())) {
                seen += e.dump();
                after = std::max(after, e.value("pos", after));
            }
            return std::all_of(slots.begin(), slots.end(), [&](const BenchSlot& s) { return seen.find(s.id) != std::string::npos; });
        },
        std::chrono::seconds(60));
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "money_e2e_bench: %s\nusage: money_e2e_bench [--clients 1,8,32] [--seconds 10] [--warmup 2] "
                 "[--poll-ms 10] [--settle 20] [--settle-batch 20] [--revoke 5] [--revoke-away-s 15] "
                 "[--his-answer-ms 3000] [--his-rate-per-minute 100000] [--phases flows,settle,revoke] [--controlplane-config JSON]\n",
                 why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> client_counts = {1, 8, 32};
    int seconds = 10, warmup = 2, poll_ms = 10, settle_n = 20, batch_n = 20, revoke_n = 5, away_s = 15, his_answer_ms = 3000,
        his_rate = 100000;
    std::string phases = "flows,settle,revoke";
    json extra = json::object();
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage(("option " + a + " needs a value").c_str());
        std::string v = argv[i + 1];
        int n = std::atoi(v.c_str());
        if (a == "--clients") {
            client_counts.clear();
            for (size_t at = 0; at <= v.size();) {
                size_t comma = std::min(v.find(',', at), v.size());
                int c = std::atoi(v.substr(at, comma - at).c_str());
                if (c < 1 || c > 64) return usage("--clients: each 1 to 64");
                client_counts.push_back(c);
                at = comma + 1;
            }
        } else if (a == "--seconds" && n > 0) seconds = n;
        else if (a == "--warmup" && n >= 0) warmup = n;
        else if (a == "--poll-ms" && n > 0) poll_ms = n;
        else if (a == "--settle" && n >= 0) settle_n = n;
        else if (a == "--settle-batch" && n >= 0) batch_n = n;
        else if (a == "--revoke" && n >= 0) revoke_n = n;
        else if (a == "--revoke-away-s" && n > 0) away_s = n;
        else if (a == "--his-answer-ms" && n >= 100) his_answer_ms = n;
        else if (a == "--his-rate-per-minute" && n >= 1 && n <= 100000) his_rate = n;
        else if (a == "--phases" && !v.empty()) phases = v;
        else if (a == "--controlplane-config" && json::parse(v, nullptr, false).is_object()) extra = json::parse(v);
        else return usage(("bad option " + a + " " + v).c_str());
    }
    log::init("money_e2e_bench", "/dev/null", log::Level::Error);

    PaySimProcess pay;
    if (!pay.launch()) return std::fprintf(stderr, "money_e2e_bench: pay-sim did not start:\n%s\n", pay.sim.output().c_str()), 1;
    json cp = {{"ledger", {{"dir", pay.dir + "/ledgers"}}},
               {"payments", {{"url", "http://127.0.0.1:" + std::to_string(pay.port)}, {"key_file", pay.dir + "/merchant.key"}}}};
    cp.merge_patch(extra);
    SystemOptions options;
    options.hospitals = {kHospital};
    options.request_timeout_ms = 5000;  // the control plane's default
    options.his_ack_timeout_ms = his_answer_ms;
    options.his_params = {{kHospital, json{{"idempotent_orders", false}, {"rate_per_minute", his_rate}}.dump()}};
    // Slots come by push (his-sim pushes each control-API change); no pull during the run.
    options.more_params = {{kHospital, json{{"extraction", {{"interval", "1h"},
                                                            {"push", {{"listen", "127.0.0.1:" + std::to_string(free_port())}}}}}}
                                           .dump()}};
    options.controlplane_config = cp.dump();
    System sys(options);
    if (!sys.start())
        return std::fprintf(stderr, "money_e2e_bench: the system did not come up; logs in %s\n", sys.log_dir().c_str()), 1;
    auto slots = bench_slots();
    for (const auto& s : slots)
        if (http_send(sys.sim_control_port(kHospital), "PUT", "/slots/" + s.id, s.fields.dump()).status != 200)
            return std::fprintf(stderr, "money_e2e_bench: his-sim refused slot %s\n", s.id.c_str()), 1;
    if (!slots_published(sys, slots))
        return std::fprintf(stderr, "money_e2e_bench: the bench slots never reached the public partition\n"), 1;
    std::printf("system up: mosquitto (TLS), his-sim + agent %s, pay-sim, control plane with ledgers; %zu slots; "
                "%d s warm-up + %d s per row; poll every %d ms; the agent sends at most %d requests/min to the HIS\n",
                kHospital, slots.size(), warmup, seconds, poll_ms, his_rate);
    std::fflush(stdout);

    bool ok = true;
    if (phases.find("flows") != std::string::npos) {
        for (int count : client_counts) {
            std::vector<std::unique_ptr<Client>> clients;
            for (int i = 0; i < count; ++i) clients.push_back(std::make_unique<Client>(i, sys, pay.port));
            CpuMeter cpu;
            cpu.watch("mosquitto", sys.broker().pid());
            cpu.watch("his-sim", sys.sim(kHospital).pid());
            cpu.watch("agent", sys.agent(kHospital).pid());
            cpu.watch("controlplane", sys.controlplane().pid());
            cpu.watch("pay-sim", pay.sim.pid());
            cpu.watch("bench", getpid());
            std::vector<RowResult> rows;
            for (const char* name : {"routed", "flows"}) {
                std::string before = loadavg();
                cpu.begin();
                auto row = run_row(name, clients, warmup, seconds, [&](Client& c, uint64_t n) {
                    return std::string(name) == "routed" ? one_routed(c, slots, n)
                                                         : one_flow(c, slots, n, std::chrono::milliseconds(poll_ms));
                });
                double elapsed = 0;
                auto used = cpu.end(elapsed);
                print_row(row, before, loadavg(), cpu_report(used, elapsed, row.done));
                ok = ok && row.errors == 0 && row.counted > 0;
                rows.push_back(row);
            }
            print_stages(count, clients, 200);
            if (rows[0].rate > 0)
                std::printf("RATIO  c=%-3d flows/routed=%.2f (two HIS changes per flow: 0.50 would match the routed rate) "
                            "p50=%.2fx p99=%.2fx\n",
                            count, rows[1].rate / rows[0].rate, rows[1].p50 / rows[0].p50, rows[1].p99 / rows[0].p99);
            std::fflush(stdout);
        }
    }
    if (phases.find("settle") != std::string::npos) {
        Client c(0, sys, pay.port);
        if (settle_n > 0) {
            auto s = settle(sys, c, settle_n, false, "one");
            print_settled("one", s, static_cast<size_t>(settle_n));
            ok = ok && s.errors == 0;
        }
        if (batch_n > 0) {
            auto s = settle(sys, c, batch_n, true, "batch");
            print_settled("batch", s, static_cast<size_t>(batch_n));
            ok = ok && s.errors == 0;
        }
    }
    if (phases.find("revoke") != std::string::npos && revoke_n > 0) {
        Client c(0, sys, pay.port);
        ok = revoke(sys, c, revoke_n, away_s) && ok;
    }
    pay.sim.stop();
    if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + pay.dir).c_str());
    return ok ? 0 : 1;
}
