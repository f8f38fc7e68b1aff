#include "agent/task_executor.h"

#include <chrono>

#include "agent/booking_request.h"
#include "common/log.h"
#include "transport/envelope.h"

namespace hisgate::agent {

namespace {
// The answer will not change by asking again: the request or the HIS said no.
bool worth_retrying(ErrorClass c) {
    return c == ErrorClass::Unavailable || c == ErrorClass::Timeout || c == ErrorClass::Protocol;
}

Result<std::string> text_field(const nlohmann::json& body, const char* name, const std::string& type) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        return make_error(ErrorClass::BadInput, "request.invalid",
                          type + " needs body." + name + ", a non-empty string");
    return it->get<std::string>();
}

Result<int64_t> whole_field(const nlohmann::json& body, const char* name, const std::string& type) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_number_integer() || it->get<int64_t>() <= 0)
        return make_error(ErrorClass::BadInput, "request.invalid",
                          type + " needs body." + name + ", a whole number above 0");
    return it->get<int64_t>();
}

nlohmann::json booking_json(const Booking& b) {
    return {{"orderId", b.order_id}, {"slotId", b.slot_id}, {"patientId", b.patient_id}, {"status", b.status}};
}
nlohmann::json payment_json(const Payment& p) {
    return {{"orderId", p.order_id}, {"amountCents", p.amount_cents}, {"status", p.status}};
}
nlohmann::json reports_json(const std::vector<ReportSummary>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : list)
        out.push_back({{"reportId", r.report_id}, {"title", r.title}, {"status", r.status}, {"issuedAt", r.issued_at}});
    return {{"reports", out}};
}
nlohmann::json statement_json(const std::vector<StatementLine>& lines) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : lines) out.push_back({{"orderId", l.order_id}, {"kind", l.kind}, {"amountCents", l.amount_cents}});
    return {{"lines", out}};
}

template <typename T, typename F>
Result<nlohmann::json> as_json(Result<T> r, F&& to_json) {
    if (!r) return r.error();
    return to_json(r.value());
}
}  // namespace

Outcome TaskExecutor::run(const Task& task) {
    auto request = Envelope::parse(task.request);
    if (!request) return {false, Envelope::make("error", hospital_id_).reply_error(request.error()).to_json(),
                          request.error().describe(), std::string(to_string(request.error().cls))};
    // An exception is a defect met on this task's data (an answer no code path expected):
    // it ends this task with an error the caller sees, never the process and every task in it.
    Result<nlohmann::json> result = make_error(ErrorClass::Internal, "agent.task_failed", "not run");
    try {
        result = perform(task, request->body);
    } catch (const std::exception& e) {
        log::error("agent.task_exception", {{"task_id", task.id}, {"type", task.type}, {"what", e.what()}});
        result = make_error(ErrorClass::Internal, "agent.task_failed",
                            "the agent could not carry out this " + task.type + " request (an internal error; logged)");
    }
    bool retry = !result && worth_retrying(result.error().cls);
    if (!retry) {
        std::lock_guard lock(mu_);
        last_change_sent_.erase(task.id);
    }
    if (result) return {false, request->reply(std::move(result.value())).to_json(), "", ""};
    const Error& e = result.error();
    return {retry, request->reply_error(e).to_json(), e.describe(), std::string(to_string(e.cls))};
}

Result<nlohmann::json> TaskExecutor::perform(const Task& task, const nlohmann::json& body) {
    const std::string& type = task.type;
    // A previous attempt was dispatched: the HIS may hold its effect already.
    bool maybe_done = task.attempts > 1;
    // A read or a cancel names one thing by one text field and is one adapter call.
    auto keyed = [&](const char* field, auto call, auto to_json) -> Result<nlohmann::json> {
        auto key = text_field(body, field, type);
        if (!key) return key.error();
        return as_json(call(*key), to_json);
    };
    if (type == "report.get")
        return keyed("reportId", [&](const std::string& id) { return his_.get_report(id); },
                     [](const Report& r) { return r.to_json(); });
    if (type == "report.list")
        return keyed("patientId", [&](const std::string& id) { return his_.list_reports(id); }, reports_json);
    if (type == "statement.daily")
        return keyed("date", [&](const std::string& date) { return his_.daily_statement(date); }, statement_json);
    if (type == "appointment.book") return book(task, body, maybe_done);
    if (type == "appointment.cancel")
        return keyed("orderId", [&](const std::string& id) { return his_.cancel(id); }, booking_json);
    if (type == "appointment.status")
        return keyed("orderId", [&](const std::string& id) { return his_.booking_status(id); }, booking_json);
    if (type == "payment.pay") return pay(task, body, false, maybe_done);
    if (type == "payment.refund") return pay(task, body, true, maybe_done);
    if (type == "payment.status")
        return keyed("orderId", [&](const std::string& id) { return his_.payment_status(id); }, payment_json);
    return make_error(ErrorClass::BadInput, "request.unknown_type",
                      "this agent does not serve requests of type \"" + type + "\"");
}

// An earlier attempt that may have reached the HIS is settled first: its booking stands
// whatever the rules say now (a time rule may have passed its boundary since). The
// appointment rules judge the first attempt only; only a booking they allow reaches the HIS.
Result<nlohmann::json> TaskExecutor::book(const Task& task, const nlohmann::json& body, bool maybe_done) {
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(clock_.wall_now());
    auto ask = read_booking_ask(body, now);
    if (!ask) return ask.error();
    if (maybe_done && !policy_.his_idempotent) {
        auto held = his_.booking_status(ask->order.order_id);
        if (!held) return held.error();  // cannot know yet: never send blind
        if (held->status != "not_found") {
            log::info("agent.in_doubt_resolved", {{"order_id", ask->order.order_id}, {"his_status", held->status}});
            return booking_json(held.value());
        }
        if (auto wait = absence_not_yet_settled(task)) return *wait;
    }
    if (!maybe_done) {
        if (auto refusal = rules_.check_booking(ask->request, ask->counts)) {
            log::info("agent.booking_refused", {{"rule", refusal->rule}, {"code", refusal->code}});
            return make_error(ErrorClass::Rejected, "appointment." + refusal->code, refusal->message_for_patient);
        }
    }
    sending_change(task);
    return as_json(his_.book(ask->order), booking_json);
}

Result<nlohmann::json> TaskExecutor::pay(const Task& task, const nlohmann::json& body, bool refund, bool maybe_done) {
    const std::string type = refund ? "payment.refund" : "payment.pay";
    auto order = text_field(body, "orderId", type);
    if (!order) return order.error();
    auto amount = whole_field(body, "amountCents", type);
    if (!amount) return amount.error();
    auto method = text_field(body, "method", type);
    if (!method) return method.error();
    if (maybe_done && !policy_.his_idempotent) {
        auto held = his_.payment_status(*order);
        if (!held) return held.error();
        if (held->status == (refund ? "refunded" : "paid") || (!refund && held->status == "refunded")) {
            log::info("agent.in_doubt_resolved", {{"order_id", *order}, {"his_status", held->status}});
            return payment_json(held.value());
        }
        if (auto wait = absence_not_yet_settled(task)) return *wait;
    }
    PaymentOrder p{*order, *amount, *method};
    sending_change(task);
    return as_json(refund ? his_.refund(p) : his_.pay(p), payment_json);
}

void TaskExecutor::sending_change(const Task& task) {
    std::lock_guard lock(mu_);
    last_change_sent_[task.id] = clock_.steady_now();
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
