// The agent core: admits the control plane's requests into its durable task queue,
// serves them through the HIS adapter under the HIS's caps, and sends answers and events
// upstream through the outbox. It never knows which HIS dialect is behind the adapter.
//
// Invariants:
//  - It publishes only under its own hospital's topics.
//  - A request id names one task for ever (within queue.retention): a redelivered
//    request is answered from the stored task, never executed again.
//  - Every answer and event goes through the outbox, so none is lost while the broker is
//    unreachable; the outbox keeps their order.
//  - Every bad input (unreadable JSON, unknown schema, another hospital's id, unknown
//    request type) is logged and answered with an error; nothing crashes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/agent_config.h"
#include "agent/config_apply.h"
#include "agent/extraction/extractor.h"
#include "agent/probes/probe_runner.h"
#include "agent/events/event_sink.h"
#include "agent/gated_adapter.h"
#include "agent/install_report_file.h"
#include "agent/his_gate.h"
#include "agent/outbox_forwarder.h"
#include "agent/presence_session.h"
#include "agent/task_executor.h"
#include "agent/task_queue.h"
#include "agent/task_store.h"
#include "agent/vitals/vitals_gateway.h"
#include "common/http_server.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent {

class Agent : public EventSink {
public:
    // Every part reads and waits on `clock` (tests pass a ManualClock).
    explicit Agent(AgentConfig config, Clock& clock = SystemClock::instance());
    ~Agent() override;

    // Opens the state file, resumes unfinished tasks, connects to the broker, starts probes
    // and extraction, and serves /metrics. All or nothing: when a step fails, whatever
    // started is stopped again, latest first, and the error says why.
    Result<void> start();
    // Stops intake (presence, probes, extraction: their calls waiting for the HIS gate give
    // up at once), lets the tasks at the HIS finish and hands back those still waiting for
    // the gate, then closes the gate, flushes the outbox and publishes the offline state.
    void stop();
    // Where /metrics is served (0 before start).
    uint16_t metrics_port() const;

    // The presence body: who this agent is and what it can do.
    nlohmann::json birth_body(bool online) const;

    // EventSink: stores the event in the outbox for the hospital's event topic.
    Result<void> emit(const std::string& type, const nlohmann::json& body) override;

    // Remote configuration and feature flags (agent/config_apply.h); null before start.
    ConfigApplier* config() { return config_apply_.get(); }

private:
    void on_message(const IncomingMessage& msg);
    void admitted(const IncomingMessage& msg, const Envelope& request, const Result<Admission>& admission);
    // The message's response topic if this agent may publish there, else "".
    std::string reply_topic_of(const IncomingMessage& msg) const;
    // Sends `reply` (an envelope, JSON) on the message's response topic, through the outbox.
    void answer(const IncomingMessage& msg, const std::string& reply);
    void presence_loop();
    void stop_presence();
    void stop_probes();
    void stop_extraction();
    void stop_tasks();
    // The retained state a stopped agent leaves on the broker.
    OutgoingMessage offline_state();
    // The state message of the current session with the next seq: the birth (online), the
    // last will or the clean stop's farewell (offline). _locked: presence_mu_ is held.
    OutgoingMessage state_message(bool online);
    OutgoingMessage state_message_locked(bool online);
    void watch_dwell(const QueueFigures& figures);

    AgentConfig config_;
    Clock& clock_;
    HisGate gate_;
    // Every part reaches the HIS through the one gate, each by its own way in, so stopping
    // closes one part's way without cutting off another's calls in flight.
    GatedAdapter his_;  // tasks
    GatedAdapter probe_his_;
    GatedAdapter extraction_his_;
    std::unique_ptr<TaskStore> store_;
    std::unique_ptr<PresenceSessions> sessions_;
    // The presence session of the current connection, and the sequence of state messages.
    std::atomic<int64_t> session_{0};
    std::atomic<int64_t> seq_{0};
    std::mutex presence_mu_;  // a state message takes its session and seq in one step
    const InstallReportFile install_report_;  // the updater's result file (lastInstall)
    const std::string cert_not_after_;  // of the TLS client certificate, "" without one
    std::unique_ptr<OrderFence> fence_;  // read by the executor
    std::unique_ptr<ConfigApplier> config_apply_;  // read by the executor and presence
    std::unique_ptr<TaskExecutor> executor_;
    std::unique_ptr<TaskQueue> queue_;
    MqttLink link_;
    std::unique_ptr<OutboxForwarder> forwarder_;
    std::unique_ptr<probes::ProbeRunner> probes_;
    std::unique_ptr<extraction::Extractor> extractor_;
    std::unique_ptr<vitals::VitalsGateway> vitals_;  // when the parameters enable it
    std::unique_ptr<HttpServer> metrics_http_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool started_ = false;
    bool stopping_ = false;
    bool dwell_exceeded_ = false;
    std::thread presence_;
};

}  // namespace hisgate::agent
