// Runs each business path's probe on its interval, compares the answer with the last good
// one, keeps the outcome and availability in the agent's state file, and sends every
// result upstream as a "probe.result" event.
//
// Outcomes (docs/probes.md): ok (same answer, or the first answer for a case), changed
// (the answer's fields differ from the last good one; the new answer becomes the last
// good one, so a change is reported once), failed (the error's class and code), archived
// (the HIS no longer has the case: the next candidate is probed from the next round on;
// once every candidate is archived the probe fails with probe.no_case without asking the
// HIS). Availability over 1 h and 24 h is the share of probes that were not failed.
//
// One thread probes one path at a time, so probes add at most one request at a time to
// the HIS; the adapter given is expected to be the agent's gated one (rate and
// concurrency caps). run_once()/check() may be called with or without the thread running.
//
// Time is the given Clock's: wall time for outcome times, availability windows and
// schedule dates; steady time for intervals and how long the HIS took.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "adapters/his_adapter.h"
#include "agent/events/event_sink.h"
#include "agent/probes/probe_result.h"
#include "agent/probes/probe_spec.h"
#include "agent/probes/probe_store.h"
#include "common/clock.h"
#include "common/error.h"

namespace hisgate::agent::probes {

class ProbeRunner {
public:
    // Opens the probe_ tables in `state_file` (the agent's state file). `his` and `events`
    // must outlive the runner. Errors: the state file cannot be opened (sqlite.*).
    static Result<std::unique_ptr<ProbeRunner>> create(HisAdapter& his, std::vector<ProbeSpec> probes,
                                                       const std::string& state_file, EventSink& events,
                                                       Clock& clock = SystemClock::instance());
    ~ProbeRunner();  // stops

    // Starts the probing thread: every probe runs at once, then every interval.
    void start();
    // Stops the thread after the probe in flight, if any. Idempotent.
    void stop();

    // Runs every probe once now, in parameter order, and returns the results (each also
    // recorded and emitted like a scheduled one). For the self-check.
    std::vector<ProbeResult> run_once();
    // Runs the probe of one path now. NotFound "probe.unknown_path" if none is configured.
    Result<ProbeResult> check(const std::string& path);

    const std::vector<ProbeSpec>& probes() const { return probes_; }
    // Per business path probed so far: {"outcome", "availability1h", "availability24h"}
    // of its last result (the agent's heartbeat carries it to the fleet registry).
    nlohmann::json summary() const;

private:
    ProbeRunner(HisAdapter& his, std::vector<ProbeSpec> probes, ProbeStore store, EventSink& events, Clock& clock);
    ProbeResult probe(const ProbeSpec& spec);
    void judge(const ProbeSpec& spec, ProbeResult& r);
    void publish(const ProbeResult& r);
    void loop();

    HisAdapter& his_;
    std::vector<ProbeSpec> probes_;
    EventSink& events_;
    Clock& clock_;

    std::mutex probe_mu_;  // one probe at a time; guards store_
    ProbeStore store_;

    mutable std::mutex summary_mu_;
    nlohmann::json summary_ = nlohmann::json::object();

    std::mutex mu_;  // guards stopping_ and thread_
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hisgate::agent::probes
