// The live partition split's write freeze under load (issue 15, "the split's write freeze
// under 1,000 transactions/s"; docs/benchmarks.md, "Ledger"): writers drive a steady rate
// of transactions (each a create and a hold: two durable changes) through group commit
// into `south` (WAL, synchronous=FULL), and while they do, `south` is split into `south-a`
// (44, 45) and `south-b` (its other provinces) by PartitionSplit: start (copy), catch-up
// rounds, freeze_and_switch. A writer whose change the fenced source refuses
// (ledger.partition_moved) re-routes by the new map to its target, as the control plane does.
//
// Repeated over --splits runs, each on new files with --preload transactions already in
// `south`. Reported per run and over the runs: the freeze (writes to the source blocked,
// measured by the split on the steady clock), the writers' worst latency (from each
// transaction's scheduled time, so a stall counts in full) and the acknowledged rate in the
// window from the split's start to one second after its switch. Afterwards every
// acknowledged transaction must be in its target (exit 1 if not).
//
//   ledger_split_bench [--rate R] [--preload N] [--splits K] [--writers W] [--dir DIR] [--steps on]
//                      (default: 1000 tx/s, 20000, 5 runs, 32 writers; --steps on prints the
//                      time of each step inside the freeze)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random_id.h"
#include "controlplane/ledger/group_commit.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_split.h"

using namespace hisgate;
using namespace hisgate::ledger;
using Steady = std::chrono::steady_clock;

namespace {

double ms_between(Steady::time_point a, Steady::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Options {
    double rate = 1000;
    int preload = 20000;
    int splits = 5;
    int writers = 32;
    std::string dir;
    bool show_steps = false;
};

struct Run {
    int64_t freeze_ms = 0;
    double copy_ms = 0, switch_ms = 0;       // start()+catch-ups, freeze_and_switch() as the caller saw them
    double worst_latency_ms = 0, p99_latency_ms = 0;
    double rate_during = 0;                  // acknowledged transactions/s from start() to switch + 1 s
    int64_t copied_rows = 0, moved_refusals = 0;
    bool complete = false;
};

TransactionIntent payment(const std::string& province) {
    TransactionIntent in;
    in.id = new_id();
    in.kind = TxKind::Payment;
    in.hospital_id = "H001";
    in.patient_id = "P-000123";
    in.amount_fen = 1250;
    in.purpose = "outpatient";
    in.epoch = 1;
    in.province = province;
    in.deadline_ms = 60'000;
    return in;
}

Move hold(const std::string& id) {
    Move m;
    m.id = id;
    m.to = TxState::Held;
    m.evidence = "provider:notified";
    return m;
}

Run run_once(const Options& o, const std::string& dir) {
    Run out;
    std::filesystem::create_directories(dir);
    SplitPlan plan;
    plan.source = "south";
    plan.source_path = dir + "/ledger-south.db";
    SplitTarget a{"south-a", {"44", "45"}, dir + "/ledger-south-a.db"}, b{"south-b", {}, dir + "/ledger-south-b.db"};
    std::vector<std::string> provinces;
    for (const auto& [province, partition] : initial_partition_map().partition_of_province)
        if (partition == "south") {
            provinces.push_back(province);
            if (!a.provinces.contains(province)) b.provinces.insert(province);
        }
    plan.targets = {a, b};
    auto target_of = [&](const std::string& p) { return a.provinces.contains(p) ? 1 : 2; };

    auto maps = open_sqlite_partition_map_store(dir + "/maps.db");
    auto source = open_sqlite_ledger_store(plan.source_path, "south");
    if (!maps || !source) {
        std::fprintf(stderr, "cannot open the files in %s\n", dir.c_str());
        std::exit(2);
    }
    Clock& clock = SystemClock::instance();
    // The preload: whole batches, one commit each.
    for (int done = 0; done < o.preload;) {
        std::vector<Command> batch;
        for (int i = 0; i < 1000 && done < o.preload; ++i, ++done) {
            auto in = payment(provinces[done % provinces.size()]);
            batch.push_back(Create{in});
            batch.push_back(hold(in.id));
        }
        if (!(*source)->apply(batch, clock.wall_ms())) std::exit(2);
    }

    // The router the writers share: 0 the source, 1 and 2 the targets (ready before the
    // switch, as the control plane would open them), and the map's epoch.
    GroupCommitter source_committer(**source, clock);
    std::unique_ptr<LedgerStore> store_a, store_b;
    std::unique_ptr<GroupCommitter> committer_a, committer_b;
    std::mutex mu;
    std::condition_variable routed;
    int64_t epoch = 1;
    auto committer_for = [&](const std::string& province, int64_t e) -> GroupCommitter* {
        if (e == 1) return &source_committer;
        return target_of(province) == 1 ? committer_a.get() : committer_b.get();
    };
    std::atomic<int64_t> moved{0};
    auto submit = [&](const Command& c, const std::string& province) {
        for (;;) {
            int64_t seen;
            GroupCommitter* committer;
            {
                std::lock_guard lock(mu);
                seen = epoch;
                committer = committer_for(province, epoch);
            }
            auto r = committer->submit_sync(c);
            if (r || r.error().code != "ledger.partition_moved") return r.ok();
            ++moved;
            std::unique_lock lock(mu);
            routed.wait(lock, [&] { return epoch > seen; });
        }
    };

    struct Ack {
        Steady::time_point due, answered;
        std::string id, province;
    };
    std::vector<std::vector<Ack>> acks(o.writers);
    std::atomic<bool> stop{false}, failed{false};
    auto t0 = Steady::now() + std::chrono::milliseconds(50);
    std::vector<std::thread> writers;
    for (int w = 0; w < o.writers; ++w)
        writers.emplace_back([&, w] {
            // Writer w takes every W-th slot of the schedule: slot k is due at t0 + k / rate.
            for (int64_t k = w; !stop; k += o.writers) {
                auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * 1e9 / o.rate));
                std::this_thread::sleep_until(due);
                auto in = payment(provinces[k % static_cast<int64_t>(provinces.size())]);
                if (!submit(Create{in}, in.province) || !submit(hold(in.id), in.province)) {
                    failed = true;
                    return;
                }
                acks[w].push_back(Ack{due, Steady::now(), in.id, in.province});
            }
        });

    std::this_thread::sleep_for(std::chrono::seconds(2));  // steady state first
    // Where the freeze goes: the time of each step inside freeze_and_switch (--steps).
    std::string steps;
    Steady::time_point last_step{};
    SplitOptions split_options;
    split_options.on_step = [&](const SplitProgress& p) {
        auto now = Steady::now();
        if (p.phase == SplitPhase::Frozen || p.step == "switched" || p.step == "frozen")
            steps += " " + p.step + " +" + std::to_string(static_cast<int>(ms_between(last_step, now))) + "ms";
        last_step = now;
    };
    PartitionSplit split(plan, **maps, clock, o.show_steps ? split_options : SplitOptions{});
    auto split_started = Steady::now();
    if (auto r = split.start(); !r) {
        std::fprintf(stderr, "start: %s\n", r.error().describe().c_str());
        std::exit(1);
    }
    for (int i = 0; i < 3; ++i)
        if (!split.catch_up()) std::exit(1);
    store_a = open_sqlite_ledger_store(a.path, "south-a").value();
    store_b = open_sqlite_ledger_store(b.path, "south-b").value();
    committer_a = std::make_unique<GroupCommitter>(*store_a, clock);
    committer_b = std::make_unique<GroupCommitter>(*store_b, clock);
    auto frozen_from = Steady::now();
    out.copy_ms = ms_between(split_started, frozen_from);
    auto report = split.freeze_and_switch();
    auto switched = Steady::now();
    if (!report) {
        std::fprintf(stderr, "freeze_and_switch: %s\n", report.error().describe().c_str());
        std::exit(1);
    }
    {
        std::lock_guard lock(mu);
        epoch = report->epoch;
    }
    routed.notify_all();
    out.switch_ms = ms_between(frozen_from, switched);
    out.freeze_ms = report->freeze_ms;
    out.copied_rows = split.progress().rows_copied;
    if (o.show_steps) std::printf("  steps:%s\n", steps.c_str());
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    for (auto& t : writers) t.join();
    if (failed) {
        std::fprintf(stderr, "a writer's change was refused\n");
        std::exit(1);
    }

    auto window_end = switched + std::chrono::seconds(1);
    std::vector<double> latencies;
    int64_t in_window = 0;
    std::map<std::string, int> expected;  // id → target
    for (const auto& list : acks)
        for (const auto& ack : list) {
            double l = ms_between(ack.due, ack.answered);
            latencies.push_back(l);
            if (ack.answered >= split_started && ack.answered < window_end) ++in_window;
            expected[ack.id] = target_of(ack.province);
        }
    std::sort(latencies.begin(), latencies.end());
    out.worst_latency_ms = latencies.empty() ? 0 : latencies.back();
    out.p99_latency_ms = latencies.empty() ? 0 : latencies[latencies.size() * 99 / 100];
    out.rate_during = static_cast<double>(in_window) / (ms_between(split_started, window_end) / 1000);
    out.moved_refusals = moved;
    committer_a.reset();
    committer_b.reset();
    auto all_a = store_a->all(), all_b = store_b->all();
    std::map<std::string, int> stored;
    for (const auto& t : all_a.value()) stored[t.intent.id] = 1;
    for (const auto& t : all_b.value()) stored[t.intent.id] = 2;
    out.complete = true;
    for (const auto& [id, target] : expected) {
        auto it = stored.find(id);
        if (it == stored.end() || it->second != target) out.complete = false;
    }
    if (stored.size() != expected.size() + static_cast<size_t>(o.preload)) out.complete = false;
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--rate") o.rate = std::stod(v);
        else if (k == "--preload") o.preload = std::stoi(v);
        else if (k == "--splits") o.splits = std::stoi(v);
        else if (k == "--writers") o.writers = std::stoi(v);
        else if (k == "--dir") o.dir = v;
        else if (k == "--steps") o.show_steps = v == "on";
        else {
            std::fprintf(stderr, "usage: ledger_split_bench [--rate R] [--preload N] [--splits K] [--writers W] [--dir DIR] [--steps on]\n");
            return 2;
        }
    }
    if (o.dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        o.dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/hisgate-split-bench-" + std::to_string(::getpid());
    }
    std::printf("split of south under %.0f transactions/s (create + hold each, group commit, synchronous=FULL), %d preloaded, %d writers\n",
                o.rate, o.preload, o.writers);
    std::printf("| run | copy ms | freeze ms | freeze_and_switch ms | writers' worst latency ms | p99 ms | tx/s during split | re-routed | complete |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    std::vector<int64_t> freezes;
    std::vector<double> worst, rates;
    bool all_complete = true;
    for (int r = 0; r < o.splits; ++r) {
        std::string dir = o.dir + "/run-" + std::to_string(r);
        Run run = run_once(o, dir);
        std::filesystem::remove_all(dir);
        std::printf("| %d | %.0f | %lld | %.1f | %.1f | %.1f | %.0f | %lld | %s |\n", r + 1, run.copy_ms,
                    static_cast<long long>(run.freeze_ms), run.switch_ms, run.worst_latency_ms, run.p99_latency_ms,
                    run.rate_during, static_cast<long long>(run.moved_refusals), run.complete ? "yes" : "NO");
        std::fflush(stdout);
        freezes.push_back(run.freeze_ms);
        worst.push_back(run.worst_latency_ms);
        rates.push_back(run.rate_during);
        all_complete = all_complete && run.complete;
    }
    std::filesystem::remove_all(o.dir);
    std::sort(freezes.begin(), freezes.end());
    std::sort(worst.begin(), worst.end());
    std::sort(rates.begin(), rates.end());
    std::printf("freeze over %d splits: p50 %lld ms, max %lld ms; writers' worst latency p50 %.1f ms, max %.1f ms; "
                "tx/s during the split: min %.0f, p50 %.0f\n",
                o.splits, static_cast<long long>(freezes[freezes.size() / 2]), static_cast<long long>(freezes.back()),
                worst[worst.size() / 2], worst.back(), rates.front(), rates[rates.size() / 2]);
    if (!all_complete) {
        std::printf("FAILED: an acknowledged transaction is missing from its target\n");
        return 1;
    }
    return 0;
}
