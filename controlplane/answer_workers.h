// Takes agents' answers off the MQTT client's thread. That one thread reads every packet
// of the control plane's connection, the PUBACKs of the requests being sent among them;
// keeping each answer there (take_answer: SQLite writes) made every request in flight wait
// behind every answer before it (measured: bench/routed_requests_bench, docs/benchmarks.md).
// A few threads of their own take the answers in turn. The queue is bounded: a flood of
// answers holds the MQTT thread back once it is full, as before, instead of growing memory.
// Answers carry no order among themselves (each is kept by its request id, once; a
// duplicate is told apart by the store), so they may be taken on any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "transport/mqtt_link.h"

namespace hisgate::controlplane {

class AnswerWorkers {
public:
    using Take = std::function<void(const IncomingMessage&)>;
    AnswerWorkers(Take take, int threads, std::size_t max_queued);
    ~AnswerWorkers();  // stop()
    AnswerWorkers(const AnswerWorkers&) = delete;
    AnswerWorkers& operator=(const AnswerWorkers&) = delete;

    void start();
    // Queues `m` for a worker; waits while the queue is full. Before start() or after
    // stop(), takes it on the caller's thread (nothing is dropped).
    void post(IncomingMessage m);
    // Takes what is queued, then ends the workers. Stop the link first: what it hands over
    // afterwards is taken on its own thread.
    void stop();

private:
    void run();

    Take take_;
    int threads_;
    std::size_t max_queued_;
    std::mutex mu_;
    std::condition_variable ready_, room_;
    std::deque<IncomingMessage> queue_;
    bool running_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace hisgate::controlplane
