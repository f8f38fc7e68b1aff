// Forwards the outbox to the broker in seq order whenever the link is up, so answers and
// events produced while the broker was unreachable arrive once it returns.
//
// Invariant: a row is removed only after the broker acknowledged it (QoS 1), and rows
// are sent strictly in seq order; a crash between the two sends a row again, which
// receivers recognise by its message id.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/task_store.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent {

class OutboxForwarder {
public:
    OutboxForwarder(TaskStore& store, MqttLink& link) : store_(store), link_(link) {}
    ~OutboxForwarder() { stop(); }

    void start();
    void stop();
    // There is something new to send, or the link came back.
    void wake();

private:
    void loop();
    // Sends what is waiting; false if the link failed on the way.
    bool forward_waiting();

    TaskStore& store_;
    MqttLink& link_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;
    int64_t sent_through_ = 0;  // the last seq the broker acknowledged
    std::thread thread_;
};

}  // namespace hisgate::agent
