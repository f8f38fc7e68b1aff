#include "agent/task_queue.h"

#include <algorithm>

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "common/trace.h"
#include "transport/envelope.h"
#include "transport/limits.h"

namespace hisgate::agent {

namespace {
// Registered metrics live as long as the process; each worker keeps the handles it used
// instead of formatting labels and searching the registry for every task.
metrics::Counter& task_outcomes(const std::string& business, const std::string& outcome) {
    thread_local std::map<std::pair<std::string, std::string>, metrics::Counter*> known;
    auto& counter = known[{business, outcome}];
    if (!counter)
        counter = &metrics::global().counter("hisgate_agent_tasks_total",
                                             "Task attempts, by business and outcome (ok, an error class, retry, parked)",
                                             {{"business", business}, {"outcome", outcome}});
    return *counter;
}
// The error answer to `task`'s request. Its envelope is read within the request bounds,
// so reading it again cannot fail in a new way; without it the answer names the task.
std::string error_answer(const Task& task, const Error& e) {
    Envelope request;
    if (auto read = Envelope::parse(task.request, limits::kRequestBytes)) request = std::move(read.value());
    else {
        request.id = task.id;
        request.type = task.type;
    }
    return request.reply_error(e).to_json();
}
metrics::Gauge& dispatch_window() {
    static metrics::Gauge& g = metrics::global().gauge(
        "hisgate_agent_queue_dispatch_window", "How many tasks may have their attempt counted ahead of the workers");
    return g;
}
metrics::Histogram& task_seconds(const std::string& business) {
    thread_local std::map<std::string, metrics::Histogram*> known;
    auto& histogram = known[business];
    if (!histogram)
        histogram = &metrics::global().histogram("hisgate_agent_task_duration_seconds",
                                                 "Admission to answer, by business", {{"business", business}},
                                                 metrics::Registry::task_duration_bounds());
    return *histogram;
}
}  // namespace

TaskQueue::TaskQueue(TaskStore& store, QueuePolicy policy, Executor executor, std::function<void()> answered,
                     Clock& clock)
    : store_(store), clock_(clock), policy_(policy), executor_(std::move(executor)), answered_(std::move(answered)) {}

TaskQueue::~TaskQueue() { stop(); }

Result<void> TaskQueue::start() {
    auto unfinished = store_.unfinished();
    if (!unfinished) return unfinished.error();
    {
        std::lock_guard lock(mu_);
        int64_t now = clock_.wall_ms();
        for (auto& task : unfinished.value()) {
            tracker_.admitted(task.row, task.business(), task.created_ms);
            enqueue_locked(std::move(task), now);
        }
    }
    if (!unfinished->empty()) log::info("queue.resumed", {{"tasks", unfinished->size()}});
    for (int i = 0; i < policy_.workers; ++i) workers_.emplace_back([this] { work(); });
    dispatcher_ = std::thread([this] { dispatch(); });
    timer_ = std::thread([this] { tick(); });
    return {};
}

void TaskQueue::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    work_cv_.notify_all();
    dispatch_cv_.notify_all();
    timer_cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    if (dispatcher_.joinable()) dispatcher_.join();
    if (timer_.joinable()) timer_.join();
    // Counted but never started: give the attempts back, so a clean stop costs none.
    std::vector<std::pair<TaskRow, int>> unstarted;
    {
        std::lock_guard lock(mu_);
        for (auto* counted : {&counted_realtime_, &counted_deferred_})
            for (const auto& t : *counted) unstarted.emplace_back(t.row, t.attempts - 1);
    }
    if (!unstarted.empty()) (void)store_.wait([&](TaskStore::Done d) { store_.dispatched_all(std::move(unstarted), d); });
    // Finishes still committing call back into this queue: let them complete first.
    (void)store_.wait([&](TaskStore::Done d) { store_.barrier(d); });
}

void TaskQueue::submit(Task task, std::function<void(const Result<Admission>&)> admitted) {
    task.created_ms = clock_.wall_ms();
    task.next_attempt_ms = task.created_ms;
    auto shared = std::make_shared<Task>(std::move(task));
    // The store is done reading the task when `admitted` runs: the queue takes it then.
    store_.admit(shared, [this, shared, admitted = std::move(admitted)](Result<Admission> a) {
        if (a && a->fresh) {
            Task& task = *shared;
            task.row = a->row;
            std::lock_guard lock(mu_);
            tracker_.admitted(task.row, task.business(), task.created_ms);
            enqueue_locked(std::move(task), clock_.wall_ms());
            dispatch_cv_.notify_one();
        }
        admitted(a);
    });
}

void TaskQueue::enqueue_locked(Task task, int64_t now_ms) {
    if (task.next_attempt_ms > now_ms) {
        delayed_.emplace(task.next_attempt_ms, std::move(task));
        timer_woken_ = true;
        timer_cv_.notify_one();
    } else if (task.cls == TaskClass::RealTime)
        realtime_.push_back(std::move(task));
    else
        deferred_waiting_.push_back(std::move(task));
}

bool TaskQueue::take_ready_locked(Task& task) {
    auto& from = !realtime_.empty() ? realtime_ : deferred_released_;
    if (from.empty()) return false;
    task = std::move(from.front());
    from.pop_front();
    return true;
}

bool TaskQueue::take_counted_locked(Task& task) {
    auto& from = !counted_realtime_.empty() ? counted_realtime_ : counted_deferred_;
    if (from.empty()) return false;
    task = std::move(from.front());
    from.pop_front();
    return true;
}

// Counts the next attempt of the ready tasks, as one change, before any worker may run
// them; at most `window` are counted ahead of the workers. Real-time tasks are
// counted first and taken first, so a counted line of deferred tasks never holds one up
// longer than its own count's commit.
void TaskQueue::dispatch() {
    const size_t least = static_cast<size_t>(std::max(1, policy_.workers));
    const size_t most = std::max(least, static_cast<size_t>(std::max(1, policy_.dispatch_ahead)));
    size_t window = least;
    name_this_thread("queue-dispatch");
    for (;;) {
        std::vector<Task> batch, exhausted;
        {
            std::unique_lock lock(mu_);
            dispatch_cv_.wait(lock, [&] {
                return stopping_ || ((!realtime_.empty() || !deferred_released_.empty()) &&
                                     counted_realtime_.size() + counted_deferred_.size() < window);
            });
            if (stopping_) return;
            Task t;
            while (counted_realtime_.size() + counted_deferred_.size() + batch.size() < window && take_ready_locked(t)) {
                if (t.attempts >= policy_.max_attempts) exhausted.push_back(std::move(t));
                else batch.push_back(std::move(t));
            }
        }
        for (auto& t : exhausted) park_exhausted(std::move(t));
        if (batch.empty()) continue;
        std::vector<std::pair<TaskRow, int>> attempts;
        for (auto& t : batch) attempts.emplace_back(t.row, ++t.attempts);
        auto counted = store_.wait([&](TaskStore::Done d) { store_.dispatched_all(std::move(attempts), d); });
        std::lock_guard lock(mu_);
        size_t still_waiting = counted_realtime_.size() + counted_deferred_.size();
        bool more_ready = !realtime_.empty() || !deferred_released_.empty();
        for (auto& t : batch) {
            if (!counted) {
                // Not counted, so not run: try again later rather than break the invariant.
                log::error("queue.store_failed", {{"task_id", t.id}, {"error", counted.error().describe()}});
                --t.attempts;
                int64_t now = clock_.wall_ms();
                t.next_attempt_ms = now + backoff_ms(1);
                enqueue_locked(std::move(t), now);
            } else {
                (t.cls == TaskClass::RealTime ? counted_realtime_ : counted_deferred_).push_back(std::move(t));
            }
        }
        // The workers ran dry while this count committed and more work is ready: count
        // further ahead. Half the window still waiting: the HIS sets the pace, not the disk.
        size_t was = window;
        if (still_waiting == 0 && more_ready)
            window = std::min(most, window * 2);
        else if (still_waiting >= window / 2)
            window = std::max(least, window / 2);
        if (window != was) dispatch_window().set(static_cast<double>(window));
        work_cv_.notify_all();
    }
}

void TaskQueue::work() {
    name_this_thread("queue-worker");
    for (;;) {
        Task task;
        {
            std::unique_lock lock(mu_);
            work_cv_.wait(lock, [&] { return stopping_ || take_counted_locked(task); });
            if (stopping_) return;
        }
        dispatch_cv_.notify_one();  // room for more counted tasks
        run(std::move(task));
    }
}

// The attempt is already counted on disk: let the executor talk to the HIS.
void TaskQueue::run(Task task) {
    auto trace = TraceContext::parse(task.traceparent);
    ScopedTrace scope(trace ? trace->child() : TraceContext::start());
    Outcome outcome = executor_(task);
    if (outcome.handed_back) {
        hand_back(std::move(task));
        return;
    }
    if (!outcome.retry) {
        task_outcomes(task.business(), outcome.error.empty() ? "ok" : outcome.error_class).inc();
        finish(std::move(task), TaskState::Done, outcome);
        return;
    }
    if (task.attempts >= policy_.max_attempts) {
        task_outcomes(task.business(), "parked").inc();
        log::warn("queue.task_parked",
                  {{"task_id", task.id}, {"type", task.type}, {"attempts", task.attempts}, {"error", outcome.error}});
        finish(std::move(task), TaskState::Parked, outcome);
        return;
    }
    task_outcomes(task.business(), "retry").inc();
    int64_t now = clock_.wall_ms();
    int64_t backoff = backoff_ms(task.attempts);
    task.next_attempt_ms = now + backoff;
    task.last_error = outcome.error;
    log::info("queue.retry_later",
              {{"task_id", task.id}, {"attempts", task.attempts}, {"in_ms", backoff}, {"error", outcome.error}});
    // Not waited for: if this is lost, a restart finds the task dispatched and retries it.
    store_.retry_later(task.row, task.next_attempt_ms, outcome.error, [id = task.id](Result<void> r) {
        if (!r) log::error("queue.store_failed", {{"task_id", id}, {"error", r.error().describe()}});
    });
    std::lock_guard lock(mu_);
    enqueue_locked(std::move(task), now);
}

// Unfinished with every attempt used: each was counted and then never came back (the
// agent stopped without a word while running it: a crash, a kill; a clean stop gives an
// unstarted attempt back). Parked and answered with the reason, never run again, so a
// task that crashes the agent stops doing so after queue.max_attempts restarts.
void TaskQueue::park_exhausted(Task task) {
    Error e = make_error(ErrorClass::Internal, "agent.attempts_exhausted",
                         "this " + task.type + " request used all its " + std::to_string(task.attempts) +
                             " attempts (queue.max_attempts) without finishing: the agent stopped while running it "
                             "each time, so it is parked and will not run again");
    Outcome outcome{false, error_answer(task, e), e.describe(), std::string(to_string(e.cls))};
    task_outcomes(task.business(), "parked").inc();
    log::warn("queue.task_parked", {{"task_id", task.id},
                                    {"type", task.type},
                                    {"attempts", task.attempts},
                                    {"error", outcome.error},
                                    {"ran", false}});
    finish(std::move(task), TaskState::Parked, outcome);
}

// The attempt never reached the HIS: it is given back, so a task on its last attempt is not
// parked for it; a stopping queue leaves the task for the next start.
void TaskQueue::hand_back(Task task) {
    task_outcomes(task.business(), "handed_back").inc();
    --task.attempts;
    log::info("queue.handed_back", {{"task_id", task.id}, {"attempts", task.attempts}});
    store_.dispatched(task.row, task.attempts, [id = task.id](Result<void> r) {
        if (!r) log::error("queue.store_failed", {{"task_id", id}, {"error", r.error().describe()}});
    });
    std::lock_guard lock(mu_);
    if (stopping_) return;
    int64_t now = clock_.wall_ms();
    task.next_attempt_ms = now + backoff_ms(task.attempts + 1);
    enqueue_locked(std::move(task), now);
}

// The worker does not wait for the commit: the completion settles the task, so commits
// are shared across tasks. The answer is sent only once it is in the outbox.
void TaskQueue::finish(Task task, TaskState state, const Outcome& outcome) {
    bool answers = !task.reply_topic.empty();
    TaskRow row = task.row;
    store_.finish(row, state, outcome.answer, outcome.error, answers,
                  [this, task = std::move(task), answers](Result<void> saved) mutable {
                      int64_t now = clock_.wall_ms();
                      std::lock_guard lock(mu_);
                      if (!saved) {
                          // The answer is not stored: keep the task, so it runs again rather than vanish.
                          log::error("queue.store_failed", {{"task_id", task.id}, {"error", saved.error().describe()}});
                          task.next_attempt_ms = now + backoff_ms(task.attempts);
                          enqueue_locked(std::move(task), now);
                          return;
                      }
                      task_seconds(task.business()).observe(static_cast<double>(now - task.created_ms) / 1000.0);
                      tracker_.finished(task.row, now);
                      if (answers && answered_) answered_();
                  });
}

// Exponential from backoff_min, capped at backoff_max, with full jitter over the upper half.
int64_t TaskQueue::backoff_ms(int attempts) {
    int64_t base = policy_.backoff_min.count();
    int64_t cap = policy_.backoff_max.count();
    int64_t ceiling = base;
    for (int i = 1; i < attempts && ceiling < cap; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, cap);
    std::lock_guard lock(jitter_mu_);
    return std::uniform_int_distribution<int64_t>(ceiling / 2, std::max(ceiling / 2, ceiling))(jitter_);
}

// The timer: moves due retries back, releases a batch of deferred tasks every drain
// interval, and refreshes the queue's gauges.
void TaskQueue::tick() {
    name_this_thread("queue-timer");
    auto next_drain = clock_.steady_now() + policy_.drain_interval;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        timer_woken_ = false;
        int64_t now = clock_.wall_ms();
        while (!delayed_.empty() && delayed_.begin()->first <= now) {
            Task t = std::move(delayed_.begin()->second);
            delayed_.erase(delayed_.begin());
            enqueue_locked(std::move(t), now);
            dispatch_cv_.notify_one();
        }
        auto steady_now = clock_.steady_now();
        if (steady_now >= next_drain) {
            int released = 0;
            while (!deferred_waiting_.empty() && released < policy_.deferred_batch) {
                deferred_released_.push_back(std::move(deferred_waiting_.front()));
                deferred_waiting_.pop_front();
                ++released;
            }
            if (released) {
                log::info("queue.drain", {{"released", released}, {"waiting", deferred_waiting_.size()}});
                dispatch_cv_.notify_one();
            }
            next_drain = steady_now + policy_.drain_interval;
        }
        tracker_.figures(now).publish_metrics();
        auto wake = std::min(next_drain, steady_now + std::chrono::seconds(1));
        if (!delayed_.empty())
            wake = std::min(wake, steady_now + std::chrono::milliseconds(std::max<int64_t>(0, delayed_.begin()->first - now)));
        clock_.wait_until(lock, timer_cv_, wake, [this] { return stopping_ || timer_woken_; });
    }
}

QueueFigures TaskQueue::figures() const {
    std::lock_guard lock(mu_);
    return tracker_.figures(clock_.wall_ms());
}

size_t TaskQueue::live_count() const {
    std::lock_guard lock(mu_);
    return tracker_.live();
}

}  // namespace hisgate::agent
