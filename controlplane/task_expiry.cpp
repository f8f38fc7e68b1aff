#include "controlplane/task_expiry.h"

#include "common/log.h"
#include "common/thread_name.h"

namespace hisgate::controlplane {

TaskExpiry::TaskExpiry(TaskResults& results, const HospitalRegistry& registry, Clock& clock,
                       std::chrono::milliseconds interval, Resend resend, std::chrono::milliseconds resend_interval)
    : results_(results), registry_(registry), clock_(clock), interval_(interval), resend_(std::move(resend)),
      resend_interval_(resend_interval) {}

TaskExpiry::~TaskExpiry() { stop(); }

void TaskExpiry::start() { thread_ = std::thread([this] { loop(); }); }

void TaskExpiry::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void TaskExpiry::run_once() {
    auto due = results_.due_resends(resend_interval_);
    if (!due) log::error("controlplane.resend_failed", {{"error", due.error().describe()}});
    else
        for (const auto& [hospital_id, request] : *due) resend_(hospital_id, request);
    auto expired = results_.expire_due([this](const std::string& hospital_id) {
        auto h = registry_.find(hospital_id);
        return h && h->online;
    });
    if (!expired) log::error("controlplane.expiry_failed", {{"error", expired.error().describe()}});
    auto purged = results_.purge();
    if (!purged) log::error("controlplane.purge_failed", {{"error", purged.error().describe()}});
}

void TaskExpiry::loop() {
    name_this_thread("task-expiry");
    std::unique_lock lock(mu_);
    while (!clock_.wait_for(lock, cv_, interval_, [this] { return stopping_; })) {
        lock.unlock();
        run_once();
        lock.lock();
    }
}

}  // namespace hisgate::controlplane
