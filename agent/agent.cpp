#include "agent/agent.h"

#include <chrono>

#include "agent/booking_request.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/trace.h"
#include "transport/topics.h"

namespace hisgate::agent {

namespace {
constexpr const char* kVersion = "0.1.0";

metrics::Counter& requests(const std::string& type, const std::string& outcome) {
    return metrics::global().counter("hisgate_agent_requests_total", "Requests served, by type and outcome",
                                     {{"type", type}, {"outcome", outcome}});
}
metrics::Histogram& latency(const std::string& type) {
    return metrics::global().histogram("hisgate_agent_request_seconds", "Time to serve a request, HIS call included",
                                       {{"type", type}});
}
metrics::Gauge& in_flight() {
    return metrics::global().gauge("hisgate_agent_in_flight_requests", "Requests being served now");
}
}  // namespace

Agent::Agent(AgentConfig config) : config_(std::move(config)), link_([&] {
    MqttOptions o = config_.broker;
    OutgoingMessage will;
    will.topic = topics::state(config_.hospital_id);
    will.retained = true;
    will.payload = Envelope::make("state", config_.hospital_id, birth_body(false)).to_json();
    o.will = will;
    OutgoingMessage birth = will;
    birth.payload = Envelope::make("state", config_.hospital_id, birth_body(true)).to_json();
    o.birth = birth;
    return o;
}()) {
    link_.subscribe(topics::request(config_.hospital_id), 1);
    link_.on_message([this](const IncomingMessage& m) { on_message(m); });
}

Agent::~Agent() { stop(); }

nlohmann::json Agent::birth_body(bool online) const {
    return {{"online", online},
            {"version", kVersion},
            {"protocol", {{"min", Envelope::kMinSchema}, {"max", Envelope::kMaxSchema}}},
            {"adapter", config_.adapter ? config_.adapter->dialect() : ""},
            {"paramsHash", config_.params_hash},
            {"capabilities", {"report.get", "appointment.book"}}};
}

void Agent::start() {
    for (int i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { work(); });
    link_.start();
    log::info("agent.started", {{"hospital_id", config_.hospital_id}, {"workers", config_.workers}});
}

void Agent::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    OutgoingMessage offline;
    offline.topic = topics::state(config_.hospital_id);
    offline.retained = true;
    offline.payload = Envelope::make("state", config_.hospital_id, birth_body(false)).to_json();
    link_.stop(offline);
    log::info("agent.stopped", {{"hospital_id", config_.hospital_id}});
}

// Runs on the MQTT client's thread: only queue the work.
void Agent::on_message(const IncomingMessage& msg) {
    std::lock_guard lock(mu_);
    pending_.push_back(msg);
    cv_.notify_one();
}

void Agent::work() {
    for (;;) {
        IncomingMessage msg;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (stopping_) return;
            msg = std::move(pending_.front());
            pending_.pop_front();
        }
        auto trace = TraceContext::parse(msg.traceparent);
        ScopedTrace scope(trace ? trace->child() : TraceContext::start());
        auto request = Envelope::parse(msg.payload);
        if (!request) {
            log::error("agent.bad_request", {{"topic", msg.topic}, {"error", request.error().describe()}});
            requests("unknown", "bad_input").inc();
            Envelope shell = Envelope::make("error", config_.hospital_id);
            answer(msg, shell.reply_error(request.error()));
            continue;
        }
        serve(msg, request.value());
    }
}

void Agent::serve(const IncomingMessage& msg, const Envelope& request) {
    if (auto cached = answered_.answer_for(request.id)) {
        log::info("agent.duplicate_request", {{"request_id", request.id}, {"type", request.type}});
        auto out = OutgoingMessage::to(msg.response_topic, *cached);
        out.correlation_data = msg.correlation_data;
        if (!msg.response_topic.empty()) (void)link_.publish(out);
        return;
    }
    {
        std::lock_guard lock(mu_);
        if (!running_ids_.insert(request.id).second) {
            log::info("agent.duplicate_in_progress", {{"request_id", request.id}});
            return;  // the first copy will answer
        }
    }
    in_flight().add(1);
    auto started = std::chrono::steady_clock::now();
    log::info("agent.request_received", {{"request_id", request.id}, {"type", request.type}});
    Envelope reply = execute(request);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    latency(request.type).observe(seconds);
    requests(request.type, reply.error ? std::string(to_string(reply.error->cls)) : "ok").inc();
    in_flight().add(-1);
    log::info("agent.request_served", {{"request_id", request.id},
                                       {"type", request.type},
                                       {"outcome", reply.error ? reply.error->code : "ok"},
                                       {"ms", seconds * 1000}});
    answered_.remember(request.id, reply.to_json());
    {
        std::lock_guard lock(mu_);
        running_ids_.erase(request.id);
    }
    answer(msg, reply);
}

Envelope Agent::execute(const Envelope& request) {
    if (request.hospital_id != config_.hospital_id)
        return request.reply_error(make_error(ErrorClass::BadInput, "request.wrong_hospital",
                                              "request addressed to hospital " + request.hospital_id +
                                                  " arrived at the agent of " + config_.hospital_id));
    if (request.type == "report.get") {
        auto it = request.body.find("reportId");
        if (it == request.body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
            return request.reply_error(make_error(ErrorClass::BadInput, "request.invalid",
                                                  "report.get needs body.reportId, a non-empty string"));
        auto report = config_.adapter->get_report(it->get<std::string>());
        if (!report) return request.reply_error(report.error());
        return request.reply(report->to_json());
    }
    if (request.type == "appointment.book") return book(request);
    return request.reply_error(make_error(ErrorClass::BadInput, "request.unknown_type",
                                          "this agent does not serve requests of type \"" + request.type + "\""));
}

// The appointment rules decide first; only a booking they allow reaches the HIS.
Envelope Agent::book(const Envelope& request) {
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    auto ask = read_booking_ask(request.body, now);
    if (!ask) return request.reply_error(ask.error());
    if (auto refusal = config_.rules->check_booking(ask->request, ask->counts)) {
        log::info("agent.booking_refused", {{"rule", refusal->rule}, {"code", refusal->code}});
        return request.reply_error(
            make_error(ErrorClass::Rejected, "appointment." + refusal->code, refusal->message_for_patient));
    }
    auto booked = config_.adapter->book(ask->order);
    if (!booked) return request.reply_error(booked.error());
    return request.reply({{"orderId", booked->order_id},
                          {"slotId", booked->slot_id},
                          {"patientId", booked->patient_id},
                          {"status", booked->status}});
}

void Agent::answer(const IncomingMessage& msg, const Envelope& reply) {
    if (msg.response_topic.empty()) {
        log::warn("agent.no_response_topic", {{"topic", msg.topic}});
        return;
    }
    // Agents publish only under their own hospital's subtree.
    if (topics::hospital_of(msg.response_topic) != config_.hospital_id) {
        log::error("agent.foreign_response_topic", {{"response_topic", msg.response_topic}});
        return;
    }
    OutgoingMessage out;
    out.topic = msg.response_topic;
    out.payload = reply.to_json();
    out.correlation_data = msg.correlation_data;
    if (auto sent = link_.publish(out); !sent)
        log::error("agent.answer_failed", {{"error", sent.error().describe()}});
}

}  // namespace hisgate::agent
