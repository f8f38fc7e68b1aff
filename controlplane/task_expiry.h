// The control plane's keeper of deadlines: every `interval` it re-sends the deferred
// requests their agent has not yet said it stored (TaskResults::due_resends, through
// `resend`), ends the requests past their deadline as expired, with the reason
// (TaskResults::expire_due, the hospital's agent online or not as the registry sees it),
// and forgets finished requests past the retention (TaskResults::purge). Time is the
// injected clock's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/task_results.h"

namespace hisgate::controlplane {

class TaskExpiry {
public:
    // Publishes a request again (hospital id, request envelope JSON).
    using Resend = std::function<void(const std::string&, const std::string&)>;
    TaskExpiry(TaskResults& results, const HospitalRegistry& registry, Clock& clock, std::chrono::milliseconds interval,
               Resend resend, std::chrono::milliseconds resend_interval);
    ~TaskExpiry();
    TaskExpiry(const TaskExpiry&) = delete;
    TaskExpiry& operator=(const TaskExpiry&) = delete;

    void start();
    void stop();
    // One round: expire what is due, purge what is old. The thread calls it every interval.
    void run_once();

private:
    void loop();

    TaskResults& results_;
    const HospitalRegistry& registry_;
    Clock& clock_;
    std::chrono::milliseconds interval_;
    Resend resend_;
    std::chrono::milliseconds resend_interval_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hisgate::controlplane
