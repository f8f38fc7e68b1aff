// Durable enqueue→complete throughput of the agent's task queue, against the disk's raw
// fsync rate measured in the same run, on state files in one temporary directory:
//
//   fsync        a 64-byte record appended and fdatasync'ed, in a loop (the ceiling for
//                anything that makes each change durable on its own);
//   queue-group  TaskQueue over a TaskStore with group commit: N tasks submitted from
//                several threads, each executed by a trivial executor; per task the
//                queue's whole durable path: admit, dispatch count, finish + outbox row,
//                and the outbox trimmed by forwarded_through as the forwarder does;
//   queue-per-commit  the same with group_commit=false (one transaction per change);
//   store-chained     the same four changes per task issued straight to the TaskStore
//                (group commit), each started from the previous one's completion, so
//                no thread waits on a commit: what the store can carry when the queue's
//                workers do not wait on it (see docs/benchmarks.md).
//
//   task_queue_bench [--tasks N] [--per-commit-tasks M] [--submitters T] [--workers W] [--dispatch-ahead A]
//                    [--fsync-seconds S] [--dir DIR] [--only fsync,group,per-commit,chained]
//
// Prints a RESULT line per contender (tasks/s, commits, tasks per commit) and the ratios.
// Exit status 1 if any task was lost or left unfinished, or the outbox was not emptied.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/task_queue.h"
#include "agent/task_store.h"
#include "common/log.h"

using namespace hisgate;
using namespace hisgate::agent;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Settings {
    int tasks = 200000;
    int per_commit_tasks = 2000;
    int submitters = 4;
    int workers = 4;  // the queue's default: the HIS's concurrency cap
    int dispatch_ahead = QueuePolicy{}.dispatch_ahead;
    double fsync_seconds = 2;
    std::string dir;
    std::string only = "fsync,group,per-commit,chained";
    bool runs(const std::string& what) const { return ("," + only + ",").find("," + what + ",") != std::string::npos; }
};

double seconds_since(SteadyClock::time_point t) { return std::chrono::duration<double>(SteadyClock::now() - t).count(); }

// (a) The raw rate of small durable appends on this disk.
double fsync_rate(const std::string& path, double seconds) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0) {
        std::perror(("open " + path).c_str());
        std::exit(2);
    }
    char record[64];
    std::fill(std::begin(record), std::end(record), 'r');
    long n = 0;
    auto start = SteadyClock::now();
    while (seconds_since(start) < seconds) {
        if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record) || ::fdatasync(fd) != 0) {
            std::perror("write/fdatasync");
            std::exit(2);
        }
        ++n;
    }
    double rate = n / seconds_since(start);
    ::close(fd);
    return rate;
}

// A request and its answer about the size of a real report.get envelope and reply.
Task make_task(int i) {
    Task t;
    t.id = "bench-" + std::to_string(i);
    t.type = "appointment.book";
    t.cls = TaskClass::RealTime;
    t.request = R"({"schema":1,"id":")" + t.id +
                R"(","type":"appointment.book","hospital_id":"H001","sent_at":"2026-11-21T12:00:00.000Z",)"
                R"("body":{"scheduleId":"S-0001","patientId":"P-000123","orderId":"O-)" + std::to_string(i) + R"("}})";
    t.reply_topic = "hisgate/v1/hospitals/H001/response/cp1";
    t.correlation = t.id;
    t.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    return t;
}

std::string answer_for(const Task& t) {
    return R"({"schema":1,"id":"r-)" + t.id + R"(","type":"appointment.book.result","in_reply_to":")" + t.id +
           R"(","hospital_id":"H001","sent_at":"2026-11-21T12:00:00.010Z","body":{"status":"booked"}})";
}

// Trims the outbox as OutboxForwarder does after the broker acknowledged a batch (the
// publish itself is left out: this measures the store, not MQTT).
class OutboxTrimmer {
public:
    explicit OutboxTrimmer(TaskStore& store) : store_(store), thread_([this] { loop(); }) {}
    ~OutboxTrimmer() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    std::atomic<int> answers_read{0};  // outbox rows with a topic and a payload, as the forwarder reads them

    void wake() {
        {
            std::lock_guard lock(mu_);
            woken_ = true;
        }
        cv_.notify_all();
    }

private:
    void loop() {
        for (;;) {
            {
                std::unique_lock lock(mu_);
                cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || woken_; });
                if (stopping_) return;
                woken_ = false;
            }
            for (;;) {  // the forwarder's batch of 256
                auto rows = store_.outbox_after(sent_through_, 256);
                if (!rows || rows->empty()) break;
                sent_through_ = rows->back().seq;
                for (const auto& row : *rows)
                    if (!row.message.topic.empty() && !row.message.payload.empty()) ++answers_read;
                store_.forwarded_through(sent_through_, [](Result<void> r) {
                    if (!r) std::fprintf(stderr, "trim failed: %s\n", r.error().describe().c_str());
                });
                if (rows->size() < 256) break;
            }
        }
    }
    TaskStore& store_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false, woken_ = false;
    int64_t sent_through_ = 0;
    std::thread thread_;
};

struct Run {
    double tasks_per_second = 0;
    uint64_t commits = 0;
    double writer_cpu_seconds = 0;  // the store's writer thread: the serial part
    bool ok = false;
};

// CPU seconds (user + system) of this process's threads named `name`, from /proc.
double thread_cpu_seconds(const std::string& name) {
    double ticks = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(entry.path() / "comm");
        std::string thread_name;
        std::getline(comm, thread_name);
        if (thread_name != name) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        std::istringstream fields(line.substr(line.rfind(')') + 2));  // after "pid (comm) "
        std::string field;
        for (int i = 3; i <= 15 && fields >> field; ++i)
            if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Counts completions; the clock stops at the last.
struct Completion {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0, failed = 0;
    void one(bool ok) {
        std::lock_guard lock(mu);
        ++(ok ? done : failed);
        cv.notify_all();
    }
    bool wait_for(int n, std::chrono::seconds limit) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, limit, [&] { return done + failed >= n; });
    }
};

// After the clock stopped: every task finished, every answer went through the outbox,
// and the trimmer emptied it.
bool verify(TaskStore& store, int tasks, const Completion& c, const OutboxTrimmer& trimmer, const char* label) {
    auto unfinished = store.unfinished();
    bool outbox_empty = false;
    for (int i = 0; i < 600 && !outbox_empty; ++i) {  // the trimmer runs at least once a second
        auto n = store.outbox_size();
        outbox_empty = n && n.value() == 0;
        if (!outbox_empty) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    bool ok = c.failed == 0 && c.done == tasks && unfinished && unfinished->empty() && outbox_empty &&
              trimmer.answers_read == tasks;
    if (!ok)
        std::fprintf(stderr, "%s: FAILED: %d done, %d failed of %d; %zu unfinished; %d answers read from the outbox; outbox %s\n",
                     label, c.done, c.failed, tasks, unfinished ? unfinished->size() : size_t(0),
                     trimmer.answers_read.load(), outbox_empty ? "empty" : "not empty");
    return ok;
}

// Submits tasks [0, n) from `threads` threads, round robin.
void submit_all(int n, int threads, const std::function<void(Task)>& submit) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = t; i < n; i += threads) submit(make_task(i));
        });
    for (auto& p : pool) p.join();
}

// (b), (c): the queue's durable path with a trivial executor.
Run queue_run(const Settings& s, const std::string& path, bool group_commit, int tasks, const char* label) {
    auto store = TaskStore::open(path, TaskStoreOptions{group_commit});
    if (!store) {
        std::fprintf(stderr, "%s: %s\n", label, store.error().describe().c_str());
        std::exit(2);
    }
    Completion completion;
    OutboxTrimmer trimmer(**store);
    QueuePolicy policy;
    policy.workers = s.workers;
    policy.dispatch_ahead = s.dispatch_ahead;
    TaskQueue queue(
        **store, policy, [](const Task& t) { return Outcome{false, answer_for(t), "", ""}; },
        [&] {
            completion.one(true);
            trimmer.wake();
        });
    if (auto started = queue.start(); !started) {
        std::fprintf(stderr, "%s: %s\n", label, started.error().describe().c_str());
        std::exit(2);
    }
    auto start = SteadyClock::now();
    submit_all(tasks, s.submitters, [&](Task t) {
        queue.submit(std::move(t), [&](const Result<Admission>& a) {
            if (!a || !a->fresh) completion.one(false);
        });
    });
    Run run;
    bool finished = completion.wait_for(tasks, std::chrono::seconds(3600));
    double elapsed = seconds_since(start);
    run.tasks_per_second = completion.done / elapsed;
    run.commits = (*store)->commits();
    run.writer_cpu_seconds = thread_cpu_seconds("store-writer");
    queue.stop();
    run.ok = finished && verify(**store, tasks, completion, trimmer, label);
    return run;
}

// The same changes per task straight to the store, each started by the previous one's
// completion (on the writer thread), so nothing waits on a commit.
Run chained_run(const Settings& s, const std::string& path, int tasks) {
    auto opened = TaskStore::open(path, TaskStoreOptions{true});
    if (!opened) {
        std::fprintf(stderr, "chained: %s\n", opened.error().describe().c_str());
        std::exit(2);
    }
    TaskStore& store = **opened;
    Completion completion;
    OutboxTrimmer trimmer(store);
    auto start = SteadyClock::now();
    submit_all(tasks, s.submitters, [&](Task t) {
        auto task = std::make_shared<Task>(std::move(t));
        store.admit(task, [&, task](Result<Admission> a) {
            if (!a || !a->fresh) return completion.one(false);
            task->row = a->row;
            store.dispatched(task->row, 1, [&, task](Result<void> d) {
                if (!d) return completion.one(false);
                store.finish(task->row, TaskState::Done, answer_for(*task), "", true, [&](Result<void> f) {
                    completion.one(static_cast<bool>(f));
                    trimmer.wake();
                });
            });
        });
    });
    Run run;
    bool finished = completion.wait_for(tasks, std::chrono::seconds(3600));
    run.tasks_per_second = completion.done / seconds_since(start);
    run.commits = store.commits();
    run.writer_cpu_seconds = thread_cpu_seconds("store-writer");
    run.ok = finished && verify(store, tasks, completion, trimmer, "chained");
    return run;
}

int usage(const std::string& what) {
    std::fprintf(stderr,
                 "task_queue_bench: %s\nusage: task_queue_bench [--tasks N] [--per-commit-tasks M] [--submitters T] "
                 "[--workers W] [--dispatch-ahead A] [--fsync-seconds S] [--dir DIR] [--only fsync,group,per-commit,chained]\n",
                 what.c_str());
    return 2;
}

void result(const char* label, int tasks, const Run& r) {
    std::printf("RESULT %-16s tasks=%-7d tasks/s=%-9.0f commits=%-7llu tasks/commit=%-8.1f writer-us/task=%.1f %s\n",
                label, tasks, r.tasks_per_second, static_cast<unsigned long long>(r.commits),
                r.commits ? static_cast<double>(tasks) / static_cast<double>(r.commits) : 0.0,
                r.writer_cpu_seconds * 1e6 / tasks, r.ok ? "ok" : "FAILED");
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage("missing value after " + a);
        std::string v = argv[++i];
        try {
            if (a == "--tasks") s.tasks = std::stoi(v);
            else if (a == "--per-commit-tasks") s.per_commit_tasks = std::stoi(v);
            else if (a == "--submitters") s.submitters = std::stoi(v);
            else if (a == "--workers") s.workers = std::stoi(v);
            else if (a == "--dispatch-ahead") s.dispatch_ahead = std::stoi(v);
            else if (a == "--fsync-seconds") s.fsync_seconds = std::stod(v);
            else if (a == "--dir") s.dir = v;
            else if (a == "--only") s.only = v;
            else return usage("unknown option " + a);
        } catch (const std::exception&) {
            return usage("not a number for " + a + ": \"" + v + "\"");
        }
    }
    if (s.tasks <= 0 || s.per_commit_tasks <= 0 || s.submitters <= 0 || s.workers <= 0 || s.dispatch_ahead <= 0 ||
        s.fsync_seconds <= 0)
        return usage("counts and seconds must be positive");
    bool own_dir = s.dir.empty();
    if (own_dir) {
        std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/task-queue-bench-XXXXXX";
        if (!mkdtemp(tmpl.data())) return usage("cannot make a temporary directory");
        s.dir = tmpl;
    }
    log::init("task_queue_bench", "", log::Level::Warn);
    std::printf("dir=%s submitters=%d workers=%d dispatch_ahead=%d\n", s.dir.c_str(), s.submitters, s.workers,
                s.dispatch_ahead);
    std::fflush(stdout);

    double fsyncs = 0;
    Run group, per_commit, chained;
    bool ok = true;
    if (s.runs("fsync")) {
        fsyncs = fsync_rate(s.dir + "/fsync.dat", s.fsync_seconds);
        std::printf("RESULT %-16s fsync/s=%.0f\n", "fsync", fsyncs);
        std::fflush(stdout);
    }
    if (s.runs("group")) {
        group = queue_run(s, s.dir + "/group.db", true, s.tasks, "queue-group");
        result("queue-group", s.tasks, group);
        ok = ok && group.ok;
        std::fflush(stdout);
    }
    if (s.runs("per-commit")) {
        per_commit = queue_run(s, s.dir + "/per-commit.db", false, s.per_commit_tasks, "queue-per-commit");
        result("queue-per-commit", s.per_commit_tasks, per_commit);
        ok = ok && per_commit.ok;
        std::fflush(stdout);
    }
    if (s.runs("chained")) {
        chained = chained_run(s, s.dir + "/chained.db", s.tasks);
        result("store-chained", s.tasks, chained);
        ok = ok && chained.ok;
    }
    auto ratio = [](const char* what, double a, double b) {
        if (a > 0 && b > 0) std::printf("RATIO %-34s %.3f\n", what, a / b);
    };
    ratio("group/per-commit", group.tasks_per_second, per_commit.tasks_per_second);
    ratio("group/fsync", group.tasks_per_second, fsyncs);
    ratio("per-commit/fsync", per_commit.tasks_per_second, fsyncs);
    ratio("chained/fsync", chained.tasks_per_second, fsyncs);
    ratio("chained/group", chained.tasks_per_second, group.tasks_per_second);
    if (own_dir) std::filesystem::remove_all(s.dir);
    return ok ? 0 : 1;
}
