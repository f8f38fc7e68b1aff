#include "controlplane/answer_workers.h"

#include <pthread.h>

#include "common/metrics.h"

namespace hisgate::controlplane {

namespace {
metrics::Gauge& queued() {
    static auto& gauge =
        metrics::global().gauge("hisgate_controlplane_answers_queued", "Agents' answers waiting for an answer worker");
    return gauge;
}
}  // namespace

AnswerWorkers::AnswerWorkers(Take take, int threads, std::size_t max_queued)
    : take_(std::move(take)), threads_(threads < 1 ? 1 : threads), max_queued_(max_queued < 1 ? 1 : max_queued) {}

AnswerWorkers::~AnswerWorkers() { stop(); }

void AnswerWorkers::start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    for (int i = 0; i < threads_; ++i)
        workers_.emplace_back([this] {
            pthread_setname_np(pthread_self(), "answers");
            run();
        });
}

void AnswerWorkers::post(IncomingMessage m) {
    {
        std::unique_lock lock(mu_);
        room_.wait(lock, [this] { return !running_ || queue_.size() < max_queued_; });
        if (running_) {
            queue_.push_back(std::move(m));
            queued().set(static_cast<double>(queue_.size()));
            lock.unlock();
            ready_.notify_one();
            return;
        }
    }
    take_(m);
}

void AnswerWorkers::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        ready_.wait(lock, [this] { return !running_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopped, and nothing left
        IncomingMessage m = std::move(queue_.front());
        queue_.pop_front();
        queued().set(static_cast<double>(queue_.size()));
        lock.unlock();
        room_.notify_one();
        take_(m);
        lock.lock();
    }
}

void AnswerWorkers::stop() {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        running_ = false;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : workers_) t.join();  // each leaves once the queue is empty
    workers_.clear();
}

}  // namespace hisgate::controlplane
