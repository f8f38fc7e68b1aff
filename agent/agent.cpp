#include "agent/agent.h"

#include <malloc.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "agent/certificate_expiry.h"
#include "agent/request_types.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "common/trace.h"
#include "common/utc_time.h"
#include "common/version.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::agent {

namespace {
metrics::Counter& requests(const std::string& outcome) {
    return metrics::global().counter("hisgate_agent_requests_total", "Requests received, by what became of them",
                                     {{"outcome", outcome}});
}

GatedAdapter::Patience patience_for(const AgentConfig& c) {
    // A deferred call was released by a drain; it may wait for the rate as long as a drain lasts.
    return {std::chrono::milliseconds(2000), std::max(c.queue.drain_interval, std::chrono::milliseconds(60000))};
}
}  // namespace

namespace {
// Every gate of the agent passes its calls to one LiveAdapter, which a pushed parameter set
// swaps whole (agent/config_apply.h).
AgentConfig with_live_adapter(AgentConfig c) {
    if (c.adapter) c.adapter = std::make_unique<LiveAdapter>(std::shared_ptr<HisAdapter>(std::move(c.adapter)));
    return c;
}
}  // namespace

Agent::Agent(AgentConfig config, Clock& clock)
    : config_(with_live_adapter(std::move(config))),
      clock_(clock),
      gate_(config_.his_concurrency, config_.his_rate_per_minute, clock_),
      his_(*config_.adapter, gate_, patience_for(config_)),
      probe_his_(*config_.adapter, gate_, patience_for(config_)),
      extraction_his_(*config_.adapter, gate_, patience_for(config_)),
      install_report_(config_.updater_result_file),
      cert_not_after_(certificate_not_after(config_.broker.cert_file)),
      link_([&] {
          MqttOptions o = config_.broker;
          // Requests published while the agent restarts wait for it in the broker (until
          // they expire, which the control plane sets to its own deadline).
          o.session_expiry = std::chrono::hours(1);
          // A request is acknowledged to the broker on arrival: until its task is stored,
          // it waits in these files for a restart (Agent::on_message).
          // (Only inside a state directory that exists: Paho would create the whole path,
          // and a missing state directory must fail the start at the task store instead.)
          auto state_dir = std::filesystem::path(config_.state_db).parent_path();
          if (state_dir.empty()) state_dir = ".";
          if (std::filesystem::is_directory(state_dir)) o.inflight_dir = state_dir / "mqtt-inflight";
          return o;
      }()) {
    // Each connection is a presence session of its own: a new session number (kept in the
    // state file) in its will and its birth alike (controlplane/hospital_registry.h).
    link_.on_connecting([this](std::optional<OutgoingMessage>& will, std::optional<OutgoingMessage>& birth) {
        int64_t session = session_.load() + 1;
        if (sessions_) {
            auto next = sessions_->next();
            if (next) session = next.value();
            else log::error("agent.presence_session_not_stored", {{"error", next.error().describe()}});
        }
        std::lock_guard presence(presence_mu_);  // no heartbeat of the new session numbered before its birth
        session_ = session;
        will = state_message_locked(false);
        birth = state_message_locked(true);
    });
    link_.subscribe(topics::request(config_.hospital_id), 1);
    link_.on_message([this](const IncomingMessage& m) { on_message(m); });
    link_.on_connected([this] {
        if (forwarder_) forwarder_->wake();
    });
}

Agent::~Agent() { stop(); }

nlohmann::json Agent::birth_body(bool online) const {
    nlohmann::json body = {{"online", online},
                           {"session", session_.load()},
                           {"name", config_.hospital_name},
                           {"region", config_.region},
                           {"version", std::string(version())},
                           {"protocol", {{"min", config_.protocol_min}, {"max", config_.protocol_max}}},
                           {"adapter", config_.adapter ? config_.adapter->dialect() : ""},
                           {"paramsHash", config_apply_ ? config_apply_->params_hash() : config_.params_hash},
                           {"capabilities", advertised_capabilities()},
                           {"caps", {{"concurrency", config_.his_concurrency}, {"ratePerMinute", config_.his_rate_per_minute}}}};
    if (!cert_not_after_.empty()) body["certNotAfter"] = cert_not_after_;
    if (auto last = install_report_.last_install()) body["lastInstall"] = std::move(*last);
    return body;
}

// The state message of the current session, with the next sequence number: the birth
// (online), the last will or the clean stop's farewell (offline).
OutgoingMessage Agent::state_message(bool online) {
    std::lock_guard presence(presence_mu_);
    return state_message_locked(online);
}

OutgoingMessage Agent::state_message_locked(bool online) {
    auto body = birth_body(online);
    body["seq"] = ++seq_;
    if (online && queue_) body["queue"] = queue_->figures().to_json();  // the fleet shows them from the start
    return OutgoingMessage::to(topics::state(config_.hospital_id),
                               Envelope::make("state", config_.hospital_id, body).to_json(), true);
}

// All or nothing: each step that starts something records how to undo it, and a step that
// fails undoes every earlier one, the latest first, so a failed start leaves no thread of
// the agent running and says on the broker that the agent is offline.
Result<void> Agent::start() {
    std::vector<std::pair<const char*, std::function<void()>>> undo;
    auto fail = [&](const Error& e) -> Result<void> {
        nlohmann::json undone = nlohmann::json::array();
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
            it->second();
            undone.push_back(it->first);
        }
        log::error("agent.start_failed", {{"error", e.describe()}, {"undone", undone}});
        return e;
    };

    // What can fail without starting a thread (besides the store's own) comes first.
    auto store = TaskStore::open(config_.state_db);
    if (!store) return fail(store.error());
    store_ = std::move(store.value());
    auto sessions = PresenceSessions::open(config_.state_db);
    if (!sessions) return fail(sessions.error());
    sessions_ = std::move(sessions.value());
    Diagnostics diagnostics;
    diagnostics.log_file = config_.log.file;
    diagnostics.process = "agent:" + config_.hospital_id;
    diagnostics.params_file = config_.params_file;
    diagnostics.updater_spool = config_.updater_spool;
    // The doctor is this very program, run on this very config: the same checks hospital
    // IT runs, the same binary version as the agent that answers.
    if (!config_.config_file.empty())
        diagnostics.doctor_command = {"/proc/self/exe", "doctor", "--config", config_.config_file, "--json"};
    if (!config_.params_file.empty() && config_.adapter && config_.rules) {
        ConfigHooks hooks;
        hooks.path_check = config_.path_check;
        auto applier = ConfigApplier::open({config_.hospital_id, config_.params_file, config_.state_db, std::string(version())},
                                           static_cast<LiveAdapter&>(*config_.adapter), *config_.rules, std::move(hooks), clock_);
        if (!applier) return fail(applier.error());
        config_apply_ = std::move(applier.value());
        config_apply_->attach(&his_, this);
    }
    forwarder_ = std::make_unique<OutboxForwarder>(*store_, link_);
    undo.emplace_back("store", [this] {
        queue_.reset();
        executor_.reset();  // before the extractor, the fence and the applier it reads
        fence_.reset();
        config_apply_.reset();
        extractor_.reset();
        probes_.reset();
        forwarder_.reset();
        store_.reset();
    });
    // Probes and extraction reach the HIS through the same gate as tasks, and send
    // upstream through the outbox (this agent is their EventSink).
    if (!config_.probes.empty()) {
        auto runner = probes::ProbeRunner::create(probe_his_, config_.probes, config_.state_db, *this, clock_);
        if (!runner) return fail(runner.error());
        probes_ = std::move(runner.value());
    }
    auto extractor =
        extraction::Extractor::open(extraction_his_, config_.extraction, config_.state_db, config_.hospital_id, *this, clock_);
    if (!extractor) return fail(extractor.error());
    extractor_ = std::move(extractor.value());
    // Tasks come last: reference.changesets and reference.snapshot read the extractor.
    // The revoke fence first learns which orders may have been at the HIS when the agent
    // last stopped (agent/order_fence.h): unfinished tasks, and tasks parked within the
    // processing horizon (their last attempt may still be running there; the store stamps
    // finished_ms with unix_ms_now()).
    fence_ = std::make_unique<OrderFence>(*store_, clock_, config_.his_processing_horizon);
    auto unfinished = store_->unfinished();
    if (!unfinished) return fail(unfinished.error());
    fence_->recall(*unfinished);
    auto parked = store_->parked_since(unix_ms_now() - config_.his_processing_horizon.count());
    if (!parked) return fail(parked.error());
    fence_->recall(*parked);
    executor_ = std::make_unique<TaskExecutor>(his_, *config_.rules, config_.hospital_id,
                                               InDoubtPolicy{config_.his_idempotent, config_.his_processing_horizon},
                                               clock_, std::move(diagnostics), extractor_.get(), fence_.get(),
                                               config_apply_.get());
    queue_ = std::make_unique<TaskQueue>(
        *store_, config_.queue, [this](const Task& t) { return executor_->run(t); }, [this] { forwarder_->wake(); },
        clock_);

    if (auto started = queue_->start(); !started) return fail(started.error());
    undo.emplace_back("queue", [this] { stop_tasks(); });
    forwarder_->start();
    undo.emplace_back("outbox", [this] { forwarder_->stop(); });
    presence_ = std::thread([this] { presence_loop(); });
    undo.emplace_back("presence", [this] { stop_presence(); });
    link_.start();
    undo.emplace_back("broker", [this] { link_.stop(offline_state()); });
    if (probes_) {
        probes_->start();
        undo.emplace_back("probes", [this] { stop_probes(); });
    }
    if (auto listening = extractor_->start(); !listening) return fail(listening.error());
    undo.emplace_back("extraction", [this] { stop_extraction(); });
    if (config_.vitals.enabled) {
        auto gateway = vitals::VitalsGateway::start(config_.vitals, config_.hospital_id, config_.state_db, link_, clock_);
        if (!gateway) return fail(gateway.error());
        vitals_ = std::move(gateway.value());
        undo.emplace_back("vitals", [this] { vitals_.reset(); });
    }
    auto metrics = std::make_unique<HttpServer>(config_.metrics_bind, config_.metrics_port, [](auto& req, auto& res) {
        if (!serve_metrics(req, res)) send_text(res, 404, "text/plain", "not found\n");
    });
    if (auto listening = metrics->start(); !listening) return fail(listening.error());
    metrics_http_ = std::move(metrics);
    log::info("agent.metrics_listening", {{"port", metrics_http_->port()}});
    {
        std::lock_guard lock(mu_);
        started_ = true;
    }
    log::info("agent.started", {{"hospital_id", config_.hospital_id},
                                {"version", std::string(version())},
                                {"his_concurrency", config_.his_concurrency},
                                {"his_rate_per_minute", config_.his_rate_per_minute}});
    return {};
}

uint16_t Agent::metrics_port() const { return metrics_http_ ? metrics_http_->port() : 0; }

void Agent::stop_presence() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (presence_.joinable()) presence_.join();
}

void Agent::stop_probes() {
    probe_his_.close();
    if (probes_) probes_->stop();
}

void Agent::stop_extraction() {
    extraction_his_.close();
    if (extractor_) extractor_->stop();
}

void Agent::stop_tasks() {
    his_.close();
    queue_->stop();
}

OutgoingMessage Agent::offline_state() { return state_message(false); }

void Agent::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || !started_) return;
        stopping_ = true;
    }
    stop_presence();
    // Intake: no new probe or pull, no push accepted; one waiting for the gate gives up.
    stop_probes();
    stop_extraction();
    // Monitors: no new sample taken; what was taken is committed (and stays for the next start).
    vitals_.reset();
    // Work in flight: calls at the HIS finish and are answered; tasks still waiting for the
    // gate are handed back (attempt returned, unanswered) for the next start.
    stop_tasks();
    // Nothing can be waiting now; nothing may enter after.
    gate_.close();
    forwarder_->stop();
    link_.stop(offline_state());
    metrics_http_->stop();
    log::info("agent.stopped", {{"hospital_id", config_.hospital_id}});
}

// Runs on the MQTT client's thread: read the envelope and hand the task to the store;
// the answer comes later from the queue.
void Agent::on_message(const IncomingMessage& msg) {
    auto trace = TraceContext::parse(msg.traceparent);
    ScopedTrace scope(trace ? trace->child() : TraceContext::start());
    // Bounded before anything else: size, nesting, envelope fields (transport/limits.h).
    auto request = Envelope::parse(msg.payload, limits::kRequestBytes);
    auto refuse = [&](const Envelope& shell, const Error& e) {
        log::error("agent.bad_request", {{"topic", msg.topic}, {"error", e.describe()}});
        requests("bad_input").inc();
        answer(msg, shell.reply_error(e).to_json());
    };
    if (!request) return refuse(Envelope::make("error", config_.hospital_id), request.error());
    if (msg.correlation_data.size() > limits::kCorrelationBytes) {
        // No answer could be matched by it: refuse without one (as a bad response topic).
        log::error("agent.bad_correlation", {{"request_id", request->id}, {"bytes", msg.correlation_data.size()}});
        requests("bad_input").inc();
        return;
    }
    if (auto too_long = limits::oversized_field(request->body, "body", "request.too_long"))
        return refuse(*request, *too_long);
    if (request->hospital_id != config_.hospital_id)
        return refuse(*request, make_error(ErrorClass::BadInput, "request.wrong_hospital",
                                           "request addressed to hospital " + request->hospital_id +
                                               " arrived at the agent of " + config_.hospital_id));
    if (request->type == "control.refused") {
        // The control plane does not speak this agent's protocol range (its version
        // window): not a task, nothing to answer; the operator must upgrade the agent.
        auto field = [&](const char* name) {
            const auto& b = request->body;
            return b.is_object() && b.contains(name) ? b[name] : nlohmann::json();
        };
        log::error("agent.refused_by_controlplane", {{"reason", field("reason")},
                                                     {"agent_protocol", field("agentProtocol")},
                                                     {"controlplane_protocol", field("controlplaneProtocol")},
                                                     {"message", field("message")}});
        metrics::global()
            .counter("hisgate_agent_refusals_total", "Refusals from the control plane (protocol outside its window)")
            .inc();
        return;
    }
    if (!msg.response_topic.empty() && !topics::valid_response_topic(msg.response_topic, config_.hospital_id)) {
        // No answer can be sent anywhere: refuse before anything is done for it. (The
        // topic itself is the caller's input: its length is logged, not its text.)
        log::error("agent.bad_response_topic", {{"request_id", request->id}, {"topic_bytes", msg.response_topic.size()}});
        requests("bad_input").inc();
        return;
    }
    const RequestType* type = find_request_type(request->type);
    if (!type)
        return refuse(*request, make_error(ErrorClass::BadInput, "request.unknown_type",
                                           "this agent does not serve requests of type \"" + request->type + "\""));
    Task task;
    task.id = request->id;
    task.type = request->type;
    task.cls = type->cls;
    task.request = msg.payload;
    task.reply_topic = reply_topic_of(msg);
    task.correlation = msg.correlation_data;
    task.traceparent = current_trace().traceparent();
    // The broker was acknowledged when the message arrived; until this handler returns,
    // the link keeps the message in its in-flight files (MqttOptions::inflight_dir), so
    // return only once the task is durable (or refused): a kill -9 before then hands the
    // request to the next start, which finds it new or a duplicate. The promise is kept
    // before admitted() answers anything, so the completion thread never waits on the
    // MQTT thread that waits here.
    std::promise<void> stored;
    auto durable = stored.get_future();
    queue_->submit(std::move(task),
                   [this, msg, req = *request, trace = current_trace(), &stored](const Result<Admission>& a) {
                       ScopedTrace in_trace(trace);  // the callback runs on the store's completion thread
                       stored.set_value();
                       admitted(msg, req, a);
                   });
    durable.wait();
}

void Agent::admitted(const IncomingMessage& msg, const Envelope& request, const Result<Admission>& admission) {
    if (!admission) {
        log::error("agent.admission_failed", {{"request_id", request.id}, {"error", admission.error().describe()}});
        requests("not_admitted").inc();
        // The store is what failed, so this answer cannot go through the outbox.
        std::string topic = reply_topic_of(msg);
        if (topic.empty()) return;
        OutgoingMessage out = OutgoingMessage::to(topic, request.reply_error(make_error(
            ErrorClass::Unavailable, "agent.queue_unavailable", "the agent cannot store the request now")).to_json());
        out.correlation_data = msg.correlation_data;
        (void)link_.publish(out);
        return;
    }
    // The sender asked to hear that the request is stored (it re-sends until then).
    const bool finished = admission->state == TaskState::Done || admission->state == TaskState::Parked;
    if (request.ack_stored && !finished) answer(msg, request.stored_ack().to_json());
    if (admission->fresh) {
        requests("admitted").inc();
        log::info("agent.task_admitted", {{"request_id", request.id}, {"type", request.type}});
        return;
    }
    requests("duplicate").inc();
    log::info("agent.duplicate_request", {{"request_id", request.id}, {"state", to_string(admission->state)}});
    // A finished task answers its duplicate with the stored answer; an unfinished one
    // answers when it finishes.
    if (finished) answer(msg, admission->answer);
}

// Agents publish only to a response topic in their own hospital's subtree
// (topics::valid_response_topic); "" when there is none to answer on.
std::string Agent::reply_topic_of(const IncomingMessage& msg) const {
    if (!msg.response_topic.empty() && !topics::valid_response_topic(msg.response_topic, config_.hospital_id)) {
        log::error("agent.bad_response_topic", {{"topic_bytes", msg.response_topic.size()}});
        return "";
    }
    return msg.response_topic;
}

void Agent::answer(const IncomingMessage& msg, const std::string& reply) {
    std::string topic = reply_topic_of(msg);
    if (topic.empty()) {
        log::warn("agent.no_response_topic", {{"topic", msg.topic}});
        return;
    }
    store_->append_outbox({topic, reply, msg.correlation_data, current_trace().traceparent()},
                          [this](Result<void> r) {
                              if (r) forwarder_->wake();
                              else log::error("agent.answer_not_stored", {{"error", r.error().describe()}});
                          });
}

Result<void> Agent::emit(const std::string& type, const nlohmann::json& body) {
    auto event = Envelope::make(type, config_.hospital_id, body);
    auto stored = store_->wait([&](TaskStore::Done d) {
        store_->append_outbox({topics::event(config_.hospital_id), event.to_json(), "", current_trace().traceparent()}, d);
    });
    if (!stored) {
        log::error("agent.event_not_stored", {{"type", type}, {"error", stored.error().describe()}});
        metrics::global()
            .counter("hisgate_agent_events_not_stored_total",
                     "Events the outbox refused; the emitter keeps or regenerates them.", {{"type", type}})
            .inc();
        return stored.error();
    }
    forwarder_->wake();
    return {};
}

// Presence: the retained state carries the queue figures every heartbeat; old finished
// tasks are forgotten after queue.retention; freed memory goes back to the system.
void Agent::presence_loop() {
    name_this_thread("presence");
    // Memory freed by start-up (the first extraction, TLS) and by bursts stays in
    // malloc's arenas until trimmed; trimming every few seconds keeps an idle agent small.
    constexpr auto kTrimEvery = std::chrono::seconds(5);
    auto next_heartbeat = clock_.steady_now();
    auto next_purge = clock_.steady_now();
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        if (clock_.steady_now() >= next_heartbeat) {
            auto figures = queue_->figures();
            watch_dwell(figures);
            nlohmann::json body;
            {
                std::lock_guard presence(presence_mu_);
                body = birth_body(true);
                body["seq"] = ++seq_;
            }
            body["queue"] = figures.to_json();
            if (probes_) body["probes"] = probes_->summary();
            body["heartbeatAt"] = iso_utc(clock_.wall_now());
            auto state = OutgoingMessage::to(topics::state(config_.hospital_id),
                                             Envelope::make("state", config_.hospital_id, body).to_json(), true);
            if (link_.connected()) (void)link_.publish(state);
            next_heartbeat = clock_.steady_now() + config_.heartbeat_interval;
        }
        if (clock_.steady_now() >= next_purge) {
            store_->purge_finished(clock_.wall_ms() - config_.retention.count(), [](Result<void> r) {
                if (!r) log::error("queue.purge_failed", {{"error", r.error().describe()}});
            });
            next_purge = clock_.steady_now() + std::chrono::minutes(10);
        }
        // A parameter set pushed in standard mode waits for the quiet window.
        if (config_apply_) config_apply_->tick();
        malloc_trim(0);
        lock.lock();
        clock_.wait_until(lock, cv_, std::min(next_heartbeat, clock_.steady_now() + kTrimEvery),
                          [this] { return stopping_; });
    }
}

void Agent::watch_dwell(const QueueFigures& f) {
    double threshold = std::chrono::duration<double>(config_.dwell_alert).count();
    bool exceeded = f.oldest_seconds > threshold || f.dwell_p99_seconds > threshold;
    if (exceeded == dwell_exceeded_) return;
    dwell_exceeded_ = exceeded;
    nlohmann::json body = f.to_json();
    body["thresholdSeconds"] = threshold;
    log::warn(exceeded ? "queue.dwell_exceeded" : "queue.dwell_recovered",
              {{"oldest_seconds", f.oldest_seconds}, {"dwell_p99_seconds", f.dwell_p99_seconds}});
    // Not stored (logged by emit): the alert state goes back, so the next figures raise it again.
    if (!emit(exceeded ? "queue.dwell_exceeded" : "queue.dwell_recovered", body)) dwell_exceeded_ = !exceeded;
}

}  // namespace hisgate::agent
