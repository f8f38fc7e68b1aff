#include "agent/task_executor.h"

#include <atomic>
#include <chrono>

#include "agent/his_gate.h"
#include "agent/request_types.h"
#include "common/log.h"
#include "transport/envelope.h"

namespace hisgate::agent {

namespace {
// The answer will not change by asking again: the request or the HIS said no.
bool worth_retrying(ErrorClass c) {
    return c == ErrorClass::Unavailable || c == ErrorClass::Timeout || c == ErrorClass::Protocol;
}

std::atomic<AttemptHook> attempt_hook{nullptr};

}  // namespace

void set_attempt_hook_for_test(AttemptHook hook) { attempt_hook = hook; }

Outcome TaskExecutor::run(const Task& task) {
    if (AttemptHook hook = attempt_hook.load()) hook(task);
    auto request = Envelope::parse(task.request);
    if (!request) return {false, Envelope::make("error", hospital_id_).reply_error(request.error()).to_json(),
                          request.error().describe(), std::string(to_string(request.error().cls))};
    // An exception is a defect met on this task's data (an answer no code path expected):
    // it ends this task with an error the caller sees, never the process and every task in it.
    Result<nlohmann::json> result = make_error(ErrorClass::Internal, "agent.task_failed", "not run");
    try {
        const RequestType* type = find_request_type(task.type);
        // A previous attempt was dispatched: the HIS may hold its effect already.
        // The rules of the set in force as the task starts (a push may swap them meanwhile).
        auto pushed_rules = config_ ? config_->rules() : nullptr;
        RequestContext context{task.type, task.id, his_, pushed_rules ? *pushed_rules : rules_, clock_, policy_.his_idempotent, task.attempts > 1,
                               [&] { return sending_order(task, fence_key_of_request(task.id)); },
                               [&](const std::string& order) { return sending_order(task, order); },
                               [&] { return absence_not_yet_settled(task); },
                               [&](const std::string& order) { return revoking(order); }, diagnostics_, reference_, config_};
        result = type ? type->handler(context, request->body)
                      : Result<nlohmann::json>(make_error(ErrorClass::BadInput, "request.unknown_type",
                                                          "this agent does not serve requests of type \"" +
                                                              task.type + "\""));
    } catch (const std::exception& e) {
        log::error("agent.task_exception", {{"task_id", task.id}, {"type", task.type}, {"what", e.what()}});
        result = make_error(ErrorClass::Internal, "agent.task_failed",
                            "the agent could not carry out this " + task.type + " request (an internal error; logged)");
    }
    bool retry = !result && worth_retrying(result.error().cls);
    if (fence_) fence_->end_change(task.id, !retry);
    if (!retry) {
        std::lock_guard lock(mu_);
        last_change_sent_.erase(task.id);
    }
    if (result) return {false, request->reply(std::move(result.value())).to_json(), "", ""};
    const Error& e = result.error();
    // Refused by a closing gate: the HIS never saw this attempt.
    bool handed_back = e.code == kGateClosed;
    return {retry, request->reply_error(e).to_json(), e.describe(), std::string(to_string(e.cls)), handed_back};
}

void TaskExecutor::sending_change(const Task& task) {
    std::lock_guard lock(mu_);
    last_change_sent_[task.id] = clock_.steady_now();
}

std::optional<Error> TaskExecutor::sending_order(const Task& task, const std::string& order) {
    if (fence_)
        if (auto refused = fence_->begin_change(task.id, order)) return refused;
    sending_change(task);
    return std::nullopt;
}

std::optional<Error> TaskExecutor::revoking(const std::string& order) {
    if (!fence_) return make_error(ErrorClass::Internal, "agent.no_fence", "this executor keeps no revoke fence");
    return fence_->revoke(order);
}

std::optional<Error> TaskExecutor::absence_not_yet_settled(const Task& task) {
    Clock::SteadyTime sent = created_;  // sent before this executor existed (an agent restart)
    {
        std::lock_guard lock(mu_);
        if (auto it = last_change_sent_.find(task.id); it != last_change_sent_.end()) sent = it->second;
    }
    auto settled_at = sent + policy_.processing_horizon;
    if (clock_.steady_now() >= settled_at) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(settled_at - clock_.steady_now());
    log::info("agent.in_doubt_waiting", {{"task_id", task.id}, {"type", task.type}, {"horizon_left_ms", left.count()}});
    return make_error(ErrorClass::Timeout, "his.in_doubt",
                      "the HIS holds nothing for this order yet, but an earlier attempt may still be in progress there; "
                      "asking again once his.processing_horizon has passed");
}

}  // namespace hisgate::agent
