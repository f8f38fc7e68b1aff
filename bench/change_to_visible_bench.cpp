// Change to visible (issue 14, "Benchmarks"): 100 hospitals changing their schedules
// continuously; the time from the HIS's change (his-sim's commit) to the slot visible on
// every read replica, p50 and p99 (target p99 <= 1 s).
//
//   change_to_visible_bench [--hospitals N] [--replicas R] [--seconds S] [--every-ms E]
//                           [--pull-interval D]   (defaults 100, 2, 60, 2000, 10s)
//
// Real processes on free loopback ports (tests/support/system.h, tests/support/replica.h):
// Mosquitto with TLS and the production ACL, N his-sims and N agents (each agent pulling its
// HIS every D and listening for its pushes, extraction.push.listen), one control plane as
// the public partition's primary, R hisgate-replica processes following it.
//
// Each hospital has one bench slot (S-BENCH, tomorrow + 2, doctor DR-101). Every E ms,
// staggered across hospitals, the bench sets its booked count to the next number through
// his-sim's control API: his-sim commits it to its own SQLite file, then pushes SIU^S12 to
// the agent (reference_push.h), which makes a change set and publishes it; the primary
// applies it and streams it to the replicas. t0 is taken before the control API call, so
// the figure includes the commit and the HTTP round trip. A change is visible on a replica
// when the replica's SQLite file (what its search reads) holds that booked count or a later
// one: each replica's file is read every 2 ms by its own watcher thread, read-only, one
// indexed query for all hospitals' bench slots (cheaper than N searches over HTTP, and the
// same committed rows the search answers from).
//
// Prints RESULT lines: per replica and for "every replica" (a change counts when the last
// replica shows it), p50 / p99 / max in ms, changes sent and seen, pushes not acknowledged
// AA, the load average and each process kind's CPU. Exit status 1 when the system did not
// come up or a change never became visible; timing never fails it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite.h"
#include "tests/support/process.h"
#include "tests/support/replica.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    int hospitals = 100;
    int replicas = 2;
    int seconds = 60;
    int every_ms = 2000;
    std::string pull_interval = "10s";
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--hospitals") o.hospitals = std::stoi(v);
        else if (k == "--replicas") o.replicas = std::stoi(v);
        else if (k == "--seconds") o.seconds = std::stoi(v);
        else if (k == "--every-ms") o.every_ms = std::stoi(v);
        else if (k == "--pull-interval") o.pull_interval = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    return o;
}

std::string date_in(int days) {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + std::chrono::hours(24 * days));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[16];
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

std::string hospital_id(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "H%03d", i + 1);
    return b;
}

// When each hospital's k-th change was sent, and when each replica first showed it.
struct Ledger {
    std::mutex mu;
    std::vector<std::vector<Clock::time_point>> sent;                  // [hospital][k - 1]
    std::vector<std::vector<std::vector<Clock::time_point>>> seen;     // [replica][hospital][k - 1]
    std::vector<std::vector<int>> shown;                               // [replica][hospital]: highest k seen
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void print_row(const char* name, std::vector<double> v, size_t sent) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
    std::printf("RESULT change_to_visible %-14s changes %zu seen %zu p50 %.1f ms p99 %.1f ms max %.1f ms\n", name, sent,
                v.size(), at(0.50), at(0.99), v.empty() ? 0.0 : v.back());
}

double load_average() {
    double a = 0;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &a) != 1) a = 0;
        std::fclose(f);
    }
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::string day = date_in(2);
    SystemOptions so;
    so.hospitals.clear();
    for (int i = 0; i < o.hospitals; ++i) {
        const std::string h = hospital_id(i);
        so.hospitals.push_back(h);
        so.more_params[h] = nlohmann::json{
            {"hospital", {{"id", h}, {"region", i % 2 ? "north" : "south"}, {"name", "Bench Hospital " + h}}},
            {"extraction",
             {{"interval", o.pull_interval}, {"push", {{"listen", "127.0.0.1:" + std::to_string(free_port())}}}}}}
                                .dump();
    }
    so.online_timeout = std::chrono::milliseconds(120000);
    const auto t_start = Clock::now();
    System s(so);
    if (!s.start()) {
        std::fprintf(stderr, "the system did not come up (logs in %s)\n", s.dir().c_str());
        return 1;
    }
    std::vector<std::unique_ptr<Replica>> replicas;
    for (int r = 0; r < o.replicas; ++r) {
        replicas.push_back(std::make_unique<Replica>());
        if (!replicas.back()->start(s, "r" + std::to_string(r + 1))) {
            std::fprintf(stderr, "replica r%d did not start\n", r + 1);
            return 1;
        }
    }
    // Every hospital's first pull has reached every replica.
    auto hospitals_on = [&](const Replica& r) {
        auto db = sql::Db::open(r.db);
        if (!db) return int64_t{0};
        auto st = db->prepare("SELECT count(*) FROM ref_hospitals");
        if (!st || !st->step()) return int64_t{0};
        return st->integer(0);
    };
    for (auto& r : replicas)
        if (!eventually([&] { return hospitals_on(*r) == o.hospitals; }, std::chrono::milliseconds(180000))) {
            std::fprintf(stderr, "replica %s did not get every hospital\n", r->name.c_str());
            return 1;
        }
    std::printf("up: %d hospitals (his-sim + agent each), %d replicas, in %.1f s; pull every %s, a change per hospital every %d ms\n",
                o.hospitals, o.replicas, ms(Clock::now() - t_start) / 1000, o.pull_interval.c_str(), o.every_ms);

    Ledger ledger;
    ledger.sent.resize(o.hospitals);
    ledger.seen.assign(o.replicas, std::vector<std::vector<Clock::time_point>>(o.hospitals));
    ledger.shown.assign(o.replicas, std::vector<int>(o.hospitals, 0));
    std::atomic<bool> stop{false};
    std::atomic<int> not_acked{0};

    // Watchers: one per replica, reading its file.
    std::vector<std::thread> watchers;
    for (int r = 0; r < o.replicas; ++r)
        watchers.emplace_back([&, r] {
            auto db = sql::Db::open(replicas[r]->db, false);
            if (!db) return;
            while (!stop.load()) {
                auto st = db->prepare_cached(
                    "SELECT hospital_id, booked FROM ref_slots WHERE date = ? AND record_key = 'S-BENCH'");
                if (st) {
                    st->bind(1, day);
                    const auto now = Clock::now();
                    while (st->step()) {
                        const std::string h = st->text(0);
                        const int i = std::atoi(h.c_str() + 1) - 1;
                        const int k = static_cast<int>(st->integer(1));
                        if (i < 0 || i >= o.hospitals) continue;
                        std::lock_guard lock(ledger.mu);
                        auto& shown = ledger.shown[r][i];
                        for (int j = shown + 1; j <= k && j <= static_cast<int>(ledger.sent[i].size()); ++j)
                            ledger.seen[r][i].push_back(now);
                        shown = std::max(shown, std::min(k, static_cast<int>(ledger.sent[i].size())));
                    }
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });

    // Senders: 4 threads, each with its share of hospitals, on a staggered schedule.
    const int senders = 4;
    std::vector<std::thread> threads;
    const auto begin = Clock::now() + std::chrono::milliseconds(200);
    const auto end = begin + std::chrono::seconds(o.seconds);
    for (int t = 0; t < senders; ++t)
        threads.emplace_back([&, t] {
            std::vector<int> mine;
            for (int i = t; i < o.hospitals; i += senders) mine.push_back(i);
            std::vector<Clock::time_point> next(mine.size());
            for (size_t j = 0; j < mine.size(); ++j)
                next[j] = begin + std::chrono::milliseconds(o.every_ms * mine[j] / o.hospitals);
            for (;;) {
                size_t j = static_cast<size_t>(std::min_element(next.begin(), next.end()) - next.begin());
                if (next[j] >= end) return;
                std::this_thread::sleep_until(next[j]);
                next[j] += std::chrono::milliseconds(o.every_ms);
                const int i = mine[j];
                int k;
                {
                    std::lock_guard lock(ledger.mu);
                    ledger.sent[i].push_back(Clock::now());
                    k = static_cast<int>(ledger.sent[i].size());
                }
                nlohmann::json slot = {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", day},
                                       {"start", "17:00"},      {"end", "17:30"},          {"half", "PM"},
                                       {"capacity", 100000},    {"booked", k},             {"feeCents", 2500}};
                auto r = http_send(s.sim_control_port(hospital_id(i)), "PUT", "/slots/S-BENCH", slot.dump());
                auto a = nlohmann::json::parse(r.body, nullptr, false);
                if (r.status != 200 || a.is_discarded() || !a.contains("push") || a["push"].value("ack", "") != "AA")
                    ++not_acked;
            }
        });
    for (auto& th : threads) th.join();
    size_t sent = 0;
    for (auto& v : ledger.sent) sent += v.size();
    // Room to arrive: what is not visible 30 s after the last change never will be.
    eventually([&] {
        std::lock_guard lock(ledger.mu);
        for (int r = 0; r < o.replicas; ++r)
            for (int i = 0; i < o.hospitals; ++i)
                if (ledger.seen[r][i].size() < ledger.sent[i].size()) return false;
        return true;
    }, std::chrono::milliseconds(30000));
    stop = true;
    for (auto& th : watchers) th.join();

    std::vector<double> every;
    size_t missing = 0;
    for (int r = 0; r < o.replicas; ++r) {
        std::vector<double> v;
        for (int i = 0; i < o.hospitals; ++i)
            for (size_t k = 0; k < ledger.seen[r][i].size(); ++k) v.push_back(ms(ledger.seen[r][i][k] - ledger.sent[i][k]));
        print_row(replicas[r]->name.c_str(), v, sent);
    }
    for (int i = 0; i < o.hospitals; ++i)
        for (size_t k = 0; k < ledger.sent[i].size(); ++k) {
            Clock::time_point last{};
            bool all = true;
            for (int r = 0; r < o.replicas; ++r) {
                if (k >= ledger.seen[r][i].size()) {
                    all = false;
                    break;
                }
                last = std::max(last, ledger.seen[r][i][k]);
            }
            if (all) every.push_back(ms(last - ledger.sent[i][k]));
            else ++missing;
        }
    print_row("every-replica", every, sent);
    std::printf("pushes not acknowledged AA: %d; changes never visible on every replica: %zu; load average %.2f\n",
                not_acked.load(), missing, load_average());
    return missing == 0 ? 0 : 1;
}
