// The agent's vitals store (agent/vitals/vitals_store.h) against its backlog: what one
// round of the gateway's work costs when W rows already wait to go upstream. A round is
// what the 2,000-bed run repeats tens of times a second: a batch of B records ingested
// and committed (ingest + flush: one transaction, one fsync), then the oldest B waiting
// rows read and acknowledged as the forwarder does (waiting(B) + forwarded_through), so
// the backlog stays at W. Three backlogs, each on a fresh state file:
//
//   empty       W = 0;
//   waiting     W rows waiting (the cloud away, or the forwarder behind), buffer bound
//               above them: nothing thinned;
//   at-bound    W rows waiting with vitals.buffer_max_samples = W, and the forwarder
//               taking only B/2 a round: every commit thins about B/2 of the oldest
//               routine samples, as in the collapse of the 2,000-bed run (rows coming in
//               faster than they go, the buffer full with the cloud up).
//
//   vitals_store_bench [--batch B] [--rounds R] [--backlog W] [--dir DIR]
//
// Prints, per backlog, the median and 90th percentile of a round's two halves (store,
// forward) in microseconds, and the ratios of each backlog to the empty one. A store
// whose per-commit cost is proportional to its batch shows ratios near 1; one that counts,
// sorts or scans what waits grows with W. Real state files on the disk the agent would
// use (default a directory under the current one), synchronous=FULL as in the agent.
// Exit status 1 if a round's figures disagree with what it did (records lost or the
// backlog not kept).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/vitals/drop_log.h"
#include "agent/vitals/vitals_store.h"
#include "common/clock.h"

using namespace hisgate;
using namespace hisgate::vitals;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Settings {
    int batch = 300;  // about a commit's worth at 2,000 beds (14,000 samples/s, ~50 commits/s)
    int rounds = 200;
    int64_t backlog = 200000;  // vitals.buffer_max_samples' default
    std::string dir = "vitals_store_bench.d";
};

// 7 samples a result and an alarm every 20th result, as bench/vitals_ward_bench's monitors.
VitalRecord record(int64_t i) {
    VitalRecord r;
    r.device = "MON-" + std::to_string(i / 7 % 2000);
    r.bed = "BED-" + std::to_string(i / 7 % 2000);
    r.observed_ms = r.received_ms = 1796460116000 + i;
    if (i % 140 == 139) {
        r.kind = VitalRecord::Kind::Alarm;
        r.name = "1002";
        r.text = "SpO2 Low";
        r.priority = 'H';
    } else {
        r.name = "heart_rate";
        r.unit = "/min";
        r.value = 60 + static_cast<double>(i % 40);
    }
    return r;
}

struct Figures {
    std::vector<double> store_us, forward_us;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

bool run(const Settings& s, const std::string& name, int64_t backlog, int64_t buffer_max, int forward, Figures& out) {
    auto dir = std::filesystem::path(s.dir) / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto& clock = SystemClock::instance();
    DropLog drops(clock);
    VitalsStoreOptions options;
    options.buffer_max = buffer_max;
    options.max_queued = 1000000;
    auto store = VitalsStore::open((dir / "state.db").string(), options, clock, drops);
    if (!store) {
        std::fprintf(stderr, "vitals_store_bench: %s\n", store.error().describe().c_str());
        return false;
    }
    auto& st = *store.value();
    int64_t next = 0;
    // The backlog, in commits of 20,000.
    while (next < backlog) {
        std::vector<VitalRecord> chunk;
        for (int64_t n = std::min<int64_t>(20000, backlog - next); n > 0; --n) chunk.push_back(record(next++));
        st.ingest(std::move(chunk));
        if (auto f = st.flush(); !f) return false;
    }
    if (st.figures().waiting != backlog) {
        std::fprintf(stderr, "vitals_store_bench: %s: %lld waiting, expected %lld\n", name.c_str(),
                     static_cast<long long>(st.figures().waiting), static_cast<long long>(backlog));
        return false;
    }
    bool ok = true;
    for (int round = 0; round < s.rounds; ++round) {
        std::vector<VitalRecord> batch;
        for (int n = 0; n < s.batch; ++n) batch.push_back(record(next++));
        auto t0 = SteadyClock::now();
        st.ingest(std::move(batch));
        if (auto f = st.flush(); !f) return false;
        auto t1 = SteadyClock::now();
        auto rows = st.waiting(forward);
        if (!rows || rows->empty()) return false;
        if (auto m = st.forwarded_through(rows->back().seq, st.figures().thinned_unreported); !m) return false;
        auto t2 = SteadyClock::now();
        out.store_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        out.forward_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
        // Without thinning the backlog stays where it was; at the bound it stays under it.
        auto waiting = st.figures().waiting;
        if (buffer_max > backlog ? waiting != backlog : waiting > buffer_max) ok = false;
    }
    if (!ok) std::fprintf(stderr, "vitals_store_bench: %s: the backlog was not kept\n", name.c_str());
    std::printf("RESULT %-8s backlog %7lld  store p50 %8.0f us p90 %8.0f us   forward p50 %8.0f us p90 %8.0f us   thinned %lld\n",
                name.c_str(), static_cast<long long>(backlog), percentile(out.store_us, 0.5),
                percentile(out.store_us, 0.9), percentile(out.forward_us, 0.5), percentile(out.forward_us, 0.9),
                static_cast<long long>(st.figures().thinned_total));
    std::fflush(stdout);
    store.value().reset();
    std::filesystem::remove_all(dir);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--batch") s.batch = std::max(1, std::atoi(v.c_str()));
        else if (a == "--rounds") s.rounds = std::max(1, std::atoi(v.c_str()));
        else if (a == "--backlog") s.backlog = std::max<int64_t>(1, std::atoll(v.c_str()));
        else if (a == "--dir") s.dir = v;
        else {
            std::fprintf(stderr, "usage: vitals_store_bench [--batch B] [--rounds R] [--backlog W] [--dir DIR]\n");
            return 2;
        }
    }
    std::printf("vitals_store_bench: batch %d, %d rounds, backlog %lld, in %s\n", s.batch, s.rounds,
                static_cast<long long>(s.backlog), s.dir.c_str());
    Figures empty, waiting, bound;
    bool ok = run(s, "empty", 0, s.backlog, s.batch, empty);
    ok = run(s, "waiting", s.backlog, s.backlog * 2, s.batch, waiting) && ok;
    ok = run(s, "at-bound", s.backlog, s.backlog, std::max(1, s.batch / 2), bound) && ok;
    auto ratio = [](const std::vector<double>& a, const std::vector<double>& b) {
        double d = percentile(b, 0.5);
        return d > 0 ? percentile(a, 0.5) / d : 0;
    };
    std::printf("RATIO p50 waiting/empty: store %.2f forward %.2f; at-bound/empty: store %.2f forward %.2f\n",
                ratio(waiting.store_us, empty.store_us), ratio(waiting.forward_us, empty.forward_us),
                ratio(bound.store_us, empty.store_us), ratio(bound.forward_us, empty.forward_us));
    std::filesystem::remove_all(s.dir);
    return ok ? 0 : 1;
}
