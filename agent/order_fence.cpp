#include "agent/order_fence.h"

#include "agent/request_types.h"
#include "common/log.h"
#include "transport/envelope.h"

namespace hisgate::agent {

void OrderFence::recall(const std::vector<Task>& unfinished) {
    std::lock_guard lock(mu_);
    for (const auto& task : unfinished) {
        const RequestType* type = find_request_type(task.type);
        if (task.attempts == 0 || !type || type->fenced_by == FencedBy::Nothing) continue;
        if (type->fenced_by == FencedBy::Request) {
            orders_[fence_key_of_request(task.id)].unsettled_since = clock_.steady_now();
            continue;
        }
        auto request = Envelope::parse(task.request);
        if (!request) continue;  // the executor answers it with the error; it sends nothing
        auto order = request->body.find("orderId");
        if (order == request->body.end() || !order->is_string()) continue;
        orders_[order->get<std::string>()].unsettled_since = clock_.steady_now();
    }
}

std::optional<Error> OrderFence::begin_change(const std::string& task_id, const std::string& order) {
    std::lock_guard lock(mu_);
    auto revoked = store_.is_revoked(order);
    if (!revoked) return revoked.error();
    if (*revoked) {
        log::info("agent.change_fenced", {{"task_id", task_id}, {"order_id", order}});
        return make_error(ErrorClass::Rejected, "order.revoked",
                          "this order was revoked at the hospital's agent; no change for it is sent to the HIS");
    }
    ++orders_[order].in_flight;
    in_flight_[task_id] = order;
    return std::nullopt;
}

void OrderFence::end_change(const std::string& task_id, bool answered) {
    std::lock_guard lock(mu_);
    auto task = in_flight_.find(task_id);
    if (task == in_flight_.end()) return;  // its attempt sent nothing
    auto it = orders_.find(task->second);
    in_flight_.erase(task);
    if (it == orders_.end()) return;
    Pending& p = it->second;
    --p.in_flight;
    if (!answered) p.unsettled_since = clock_.steady_now();
    else p.unsettled_since.reset();  // the HIS answered: its records hold the outcome
    if (p.in_flight == 0 && !p.unsettled_since) orders_.erase(it);
}

std::optional<Error> OrderFence::revoke(const std::string& order) {
    auto fenced = store_.wait([&](TaskStore::Done done) { store_.revoke_order(order, clock_.wall_ms(), std::move(done)); });
    if (!fenced) return fenced.error();
    std::lock_guard lock(mu_);
    auto it = orders_.find(order);
    if (it == orders_.end()) return std::nullopt;
    const Pending& p = it->second;
    if (p.in_flight == 0 && (!p.unsettled_since || clock_.steady_now() >= *p.unsettled_since + horizon_)) {
        orders_.erase(it);
        return std::nullopt;
    }
    log::info("agent.revoke_waiting", {{"order_id", order}, {"in_flight", p.in_flight}});
    return make_error(ErrorClass::Timeout, "his.in_doubt",
                      "the order is revoked here, but a change for it is at the HIS or may still be running there; "
                      "the revoke answers once the HIS's records are final (his.processing_horizon)");
}

}  // namespace hisgate::agent
