// Ledger throughput per partition: payments carried from creation to POSTED (hold+post:
// CREATED → HELD → DISPATCHED → CONFIRMED → POSTED, five durable changes each) on one
// partition's SQLite file (WAL, synchronous=FULL), against the disk's raw fsync rate
// measured in the same run, in the same directory:
//
//   fsync        a 64-byte record appended and fdatasync'ed in a loop (the ceiling for
//                anything that makes each change durable on its own);
//   group c=C    GroupCommitter: C payments in flight (the requests the control plane
//                is serving at once), each change submitted when the previous one is
//                answered (durable), so batches form from many payments' changes; one
//                row per C of --concurrency;
//   per-commit   the same with group commit off (C = the first of --concurrency): one
//                transaction and fsync per change.
//
//   ledger_bench [--transactions N] [--per-commit-transactions M] [--concurrency C1,C2,...]
//                [--fsync-seconds S] [--dir DIR]        (default: 50000, 1000, 64,256,1024, 2 s)
//
// Prints a table (payments/s, changes/s, changes per commit) and the ratios. Exit status 1
// if a change was refused or a payment did not reach POSTED.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random_id.h"
#include "controlplane/ledger/group_commit.h"
#include "controlplane/ledger/ledger_store.h"

using namespace hisgate;
using namespace hisgate::ledger;
using SteadyClock = std::chrono::steady_clock;

namespace {

double seconds_since(SteadyClock::time_point t) { return std::chrono::duration<double>(SteadyClock::now() - t).count(); }

double fsync_rate(const std::string& path, double seconds) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) return 0;
    char record[64] = {};
    int n = 0;
    auto start = SteadyClock::now();
    while (seconds_since(start) < seconds) {
        if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record) || ::fdatasync(fd) != 0) {
            std::perror("write/fdatasync");
            break;
        }
        ++n;
    }
    double rate = n / seconds_since(start);
    ::close(fd);
    return rate;
}

struct Outcome {
    double seconds = 0;
    int posted = 0;
    uint64_t commits = 0, changes = 0;
    int refused = 0;
};

// One payment's five changes, each submitted from the previous one's answer.
class Flow {
public:
    Flow(GroupCommitter& c, std::atomic<int>& left, std::atomic<int>& posted, std::atomic<int>& refused,
         std::mutex& mu, std::condition_variable& cv, std::atomic<int>& running)
        : c_(c), left_(left), posted_(posted), refused_(refused), mu_(mu), cv_(cv), running_(running) {}

    void start() {
        if (left_.fetch_sub(1) <= 0) {
            if (running_.fetch_sub(1) == 1) {
                std::lock_guard lock(mu_);
                cv_.notify_all();
            }
            return;
        }
        TransactionIntent in;
        in.id = new_id();
        in.hospital_id = "H001";
        in.patient_id = "P-000123";
        in.amount_fen = 1250;
        in.purpose = "outpatient";
        in.epoch = 1;
        id_ = in.id;
        step_ = 0;
        c_.submit(Create{in}, [this](Result<Transaction> r) { next(r); });
    }

private:
    void next(const Result<Transaction>& r) {
        if (!r) {
            ++refused_;
            return start();
        }
        static const TxState path[] = {TxState::Held, TxState::Dispatched, TxState::Confirmed, TxState::Posted};
        if (step_ == 4) {
            ++posted_;
            return start();
        }
        Move m{id_, path[step_++], "bench", "bench", std::nullopt};
        c_.submit(m, [this](Result<Transaction> r2) { next(r2); });
    }

    GroupCommitter& c_;
    std::atomic<int>& left_;
    std::atomic<int>& posted_;
    std::atomic<int>& refused_;
    std::mutex& mu_;
    std::condition_variable& cv_;
    std::atomic<int>& running_;
    std::string id_;
    int step_ = 0;
};

Outcome run(const std::string& path, int transactions, int concurrency, bool group) {
    Outcome out;
    auto store = open_sqlite_ledger_store(path, "south");
    if (!store) {
        std::fprintf(stderr, "%s\n", store.error().describe().c_str());
        std::exit(2);
    }
    std::atomic<int> left{transactions}, posted{0}, refused{0}, running{concurrency};
    std::mutex mu;
    std::condition_variable cv;
    auto start = SteadyClock::now();
    {
        GroupCommitter committer(**store, SystemClock::instance(), GroupCommitOptions{.enabled = group});
        std::vector<std::unique_ptr<Flow>> flows;
        for (int i = 0; i < concurrency; ++i)
            flows.push_back(std::make_unique<Flow>(committer, left, posted, refused, mu, cv, running));
        for (auto& f : flows) f->start();
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return running.load() == 0; });
        out.seconds = seconds_since(start);
        out.commits = committer.commits();
        out.changes = committer.commands();
    }
    out.posted = posted.load();
    out.refused = refused.load();
    auto all = (*store)->in_state(TxState::Posted, transactions + 1);
    if (!all || static_cast<int>(all->size()) != out.posted) out.refused += 1;
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int transactions = 50000, per_commit = 1000;
    std::vector<int> concurrency = {64, 256, 1024};
    double fsync_seconds = 2;
    std::string dir;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--transactions") transactions = std::stoi(v);
        else if (a == "--per-commit-transactions") per_commit = std::stoi(v);
        else if (a == "--concurrency") {
            concurrency.clear();
            for (size_t pos = 0; pos <= v.size();) {
                size_t comma = v.find(',', pos);
                if (comma == std::string::npos) comma = v.size();
                concurrency.push_back(std::stoi(v.substr(pos, comma - pos)));
                pos = comma + 1;
            }
        }
        else if (a == "--fsync-seconds") fsync_seconds = std::stod(v);
        else if (a == "--dir") dir = v;
        else {
            std::fprintf(stderr,
                         "usage: ledger_bench [--transactions N] [--per-commit-transactions M] [--concurrency C1,C2,...] "
                         "[--fsync-seconds S] [--dir DIR]\n");
            return 2;
        }
    }
    bool own_dir = dir.empty();
    if (own_dir) {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ledger-bench-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back(0);
        if (!mkdtemp(buf.data())) return 2;
        dir = buf.data();
    }
    double fsyncs = fsync_rate(dir + "/fsync.bin", fsync_seconds);
    std::vector<Outcome> groups;
    for (int c : concurrency) groups.push_back(run(dir + "/ledger-group-" + std::to_string(c) + ".db", transactions, c, true));
    Outcome p = run(dir + "/ledger-per-commit.db", per_commit, concurrency.front(), false);

    auto row = [](const std::string& name, const Outcome& o) {
        double tps = o.posted / o.seconds;
        std::printf("| %-15s | %9d | %7.2f | %11.0f | %11.0f | %9.1f |\n", name.c_str(), o.posted, o.seconds, tps,
                    o.changes / o.seconds, o.commits ? static_cast<double>(o.changes) / o.commits : 0.0);
        return tps;
    };
    std::printf("| contender       |  payments |       s | payments/s  |  changes/s  | chg/commit |\n");
    std::printf("|-----------------|-----------|---------|-------------|-------------|------------|\n");
    std::printf("| %-15s | %9s | %7.2f | %11s | %11.0f | %10s |\n", "raw fsync", "-", fsync_seconds, "-", fsyncs, "1");
    double best = 0;
    const Outcome* g = nullptr;
    for (size_t i = 0; i < groups.size(); ++i) {
        double t = row("group c=" + std::to_string(concurrency[i]), groups[i]);
        if (t > best) best = t, g = &groups[i];
    }
    double pt = row("per-commit c=" + std::to_string(concurrency.front()), p);
    std::printf("\nbest group / per-commit: %.1fx payments/s; best group changes/s / raw fsyncs/s: %.1fx; "
                "per-commit changes/s / raw fsyncs/s: %.2fx\n",
                best / pt, (g->changes / g->seconds) / fsyncs, (p.changes / p.seconds) / fsyncs);
    std::printf("target: >= 10000 payments/s per partition with group commit: %s\n", best >= 10000 ? "met" : "NOT met");
    if (own_dir) std::filesystem::remove_all(dir);
    bool whole = p.refused == 0 && p.posted == per_commit;
    for (const auto& o : groups) whole = whole && o.refused == 0 && o.posted == transactions;
    if (!whole) std::fprintf(stderr, "refused or unfinished payments\n");
    return whole ? 0 : 1;
}
