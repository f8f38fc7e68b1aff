// The agent's task queue: durable admission, scheduling by class, retries with backoff,
// and parking of poison tasks.
//
// - Real-time tasks run as soon as a worker is free; deferred tasks wait for the drain
//   timer, which releases at most what the HIS's rate cap allows per interval.
// - A failed attempt worth retrying comes back after an exponential, jittered backoff;
//   after `max_attempts` the task is parked with its last error and answered with it.
//   A parked or waiting task never blocks the tasks behind it.
// - A task's attempt is counted durably before the executor runs it (before its request
//   is even read), so a task that crashes the agent is parked after max_attempts restarts
//   instead of crashing it for ever: a task resumed with every attempt used is parked
//   with the reason ("agent.attempts_exhausted") and answered, without running again.
//   One dispatcher thread counts the attempts of the ready tasks ahead of the workers in
//   one change, and workers never wait for a finish to commit: commits are shared across
//   tasks, so throughput follows the disk's commit rate times the batch, not the worker
//   count. How far ahead adapts: as many as the workers start while one count commits
//   (the window doubles when they ran dry waiting for it and halves when half of it was
//   still waiting), between `workers` and `dispatch_ahead`. A slow HIS keeps it at the
//   worker count; only a HIS that answers faster than a commit widens it.
// - After a restart every unfinished task is resumed; one that was dispatched is run
//   again with its attempt count, and the executor decides whether the HIS must be
//   asked what it holds before the task is sent again.
// - Time (admission, backoff, the drain timer, the figures) is the given Clock's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "agent/queue_figures.h"
#include "agent/task.h"
#include "agent/task_store.h"
#include "common/clock.h"

namespace hisgate::agent {

struct QueuePolicy {
    int workers = 4;  // = the HIS's concurrency cap: more would only wait at the gate
    std::chrono::milliseconds drain_interval{30000};
    int deferred_batch = 300;  // deferred tasks released per drain
    int max_attempts = 8;
    // At most this many tasks may have their attempt counted ahead of the workers. More
    // shares more commits (throughput); the cost: a crash charges each of them an
    // attempt, and a change among them is settled by a status query before it is sent,
    // though some had not started (a clean stop gives those back).
    int dispatch_ahead = 1024;
    std::chrono::milliseconds backoff_min{1000};
    std::chrono::milliseconds backoff_max{300000};
};

// What an attempt came to. `answer` is the reply envelope (JSON) to send: the result, or
// the error to send if the task is finished or parked now.
struct Outcome {
    bool retry = false;  // worth another attempt later (the HIS was unreachable, busy, or silent)
    std::string answer;
    std::string error;   // for the log and the task's last_error; empty on success
    std::string error_class;  // the error's class name, for the figures; empty on success
    // The HIS was never asked (the agent is stopping): the attempt is given back and the
    // task waits unanswered for the next start. Never parked, whatever its attempts.
    bool handed_back = false;
};

class TaskQueue {
public:
    using Executor = std::function<Outcome(const Task&)>;

    // `answered` runs after a task's answer entered the outbox (to wake the forwarder).
    TaskQueue(TaskStore& store, QueuePolicy policy, Executor executor, std::function<void()> answered,
              Clock& clock = SystemClock::instance());
    ~TaskQueue();

    // Resumes unfinished tasks from the store and starts the workers and the timer.
    Result<void> start();
    void stop();

    // Admits a task durably. `admitted` runs once it is stored (or found: a duplicate of
    // a known task), on the store's completion thread.
    void submit(Task task, std::function<void(const Result<Admission>&)> admitted);

    QueueFigures figures() const;
    // Unfinished tasks: admitted and not yet answered.
    size_t live_count() const;

private:
    void dispatch();
    void work();
    void tick();
    void run(Task task);
    void hand_back(Task task);
    void park_exhausted(Task task);
    // Into the line it belongs to now; a task not due yet waits in delayed_ (and wakes the
    // timer, which may have to wake earlier for it).
    void enqueue_locked(Task task, int64_t now_ms);
    bool take_ready_locked(Task& task);
    bool take_counted_locked(Task& task);
    int64_t backoff_ms(int attempts);
    void finish(Task task, TaskState state, const Outcome& outcome);

    TaskStore& store_;
    Clock& clock_;
    const QueuePolicy policy_;
    Executor executor_;
    std::function<void()> answered_;

    mutable std::mutex mu_;
    std::condition_variable work_cv_, dispatch_cv_, timer_cv_;
    std::deque<Task> realtime_;            // ready now
    std::deque<Task> deferred_waiting_;    // until the next drain
    std::deque<Task> deferred_released_;   // released by a drain, ready now
    std::multimap<int64_t, Task> delayed_;  // retries, by next attempt time
    // Attempt counted durably; waiting for a worker. Real-time first.
    std::deque<Task> counted_realtime_, counted_deferred_;
    QueueFigures::Tracker tracker_;
    std::mutex jitter_mu_;
    std::mt19937_64 jitter_{std::random_device{}()};
    bool stopping_ = false;
    bool timer_woken_ = false;  // the timer must look again before its deadline
    std::vector<std::thread> workers_;
    std::thread dispatcher_;
    std::thread timer_;
};

}  // namespace hisgate::agent
