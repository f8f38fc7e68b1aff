// The wave engine (issue 16 items 5 and 6; docs/rollouts.md): takes a release to the
// hospitals a rollout chose, wave by wave, and judges each hospital by what the fleet
// registry shows, never by the answer to the install task.
//
// A round (tick(), on the engine's thread every second, or a test's stepped clock):
//  1. Judge every sent target. Good: its registry record shows, in a newer liveness session
//     than when the install was sent, the new version, online and inside the protocol
//     window, a heartbeat since (so the probe summary is the new version's), and no failing
//     probe (with requireProbes: a probe summary at all). Failed: not good by its deadline
//     (silent, still at the old version, offline, or probes failing: the reason says which),
//     or back at another version after it was seen at the new one (it rolled back), or at
//     once when its record's lastInstall says its updater rolled this release back after
//     the install was sent ("rolled back by its updater: <code>: <message>").
//  2. Halt: failed / sent above maxFailure halts the rollout at once, mid-wave, with the
//     hospitals and reasons. Nothing more is sent; what was sent is still judged.
//  3. Start the next wave once every target of the started waves is settled (and the
//     rollout runs). A wave's targets are gated first:
//     - already at (or above) the release: succeeded, nothing sent;
//     - more than `version_window` published releases behind the release: refused, with
//       an operator alert (conditions());
//     - the parameter gate (param_gate.h): a file the release's catalog would refuse is
//       held back with the parameters to fix, unless the operator overrides it. When the
//       catalogs differ in a breaking way the gate needs the hospital's file: the engine
//       asks the agent for it (params.get) and the target waits in `checking` until it
//       comes (held back when it does not come within the wave timeout);
//     - else `release.install` goes out through the normal task routing, with
//       {"version", "manifest_url"}, deadline now + waveTimeout.
//  4. The last wave settled and not halted: done.
//
// A newer rollout supersedes older ones for the hospitals it takes: their unsettled
// targets there become `superseded` and leave the older rollout's threshold. Rollouts
// share nothing else: a halted, paused or stuck rollout never blocks a newer one.
//
// Every change goes through the store in one transaction per rollout (rollout_store.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "config-params/catalog.h"
#include "controlplane/alerts/alert.h"
#include "controlplane/fleet_store.h"
#include "controlplane/rollout/rollout.h"
#include "controlplane/rollout/rollout_store.h"
#include "release/release_version.h"

namespace hisgate::controlplane::rollout {

// The alert rule of an agent refused by a rollout for being too old (docs/alerts.md).
inline constexpr const char* kTooOldRule = "agent.too_old";
// The alert rule of a rollout that halted by itself, which holds until the operator answers
// with a newer rollout (a fixed release, or the same again): a fleet alert (no hospital),
// its subject the rollout's id.
inline constexpr const char* kHaltedRule = "rollout.halted";

// What the engine reads of the release repository.
class ReleaseSource {
public:
    virtual ~ReleaseSource() = default;
    // Every published version, newest first.
    virtual std::vector<release::ReleaseVersion> published() = 0;
    // The parameter catalog a published release ships (params-catalog.json, its SHA-256
    // checked against the manifest's params.catalog_sha256). NotFound when the version is
    // not published or has no catalog; Rejected "rollout.catalog_mismatch" when the file is
    // not the one the manifest names.
    virtual Result<std::shared_ptr<const params::Catalog>> catalog(const std::string& version) = 0;
};
// Over the control plane's release repository (release/repository.h); catalogs cached.
std::unique_ptr<ReleaseSource> repository_releases(std::string repo_dir);

// Every hospital of the fleet, now.
using FleetSource = std::function<Result<std::vector<FleetRecord>>()>;
// Sends a task to a hospital's agent through the normal routing; `done` gets the task id
// and the agent's answer (or the routing's error) later, on any thread — or at once, before
// dispatch returns. The engine never holds its lock while calling it.
using TaskDone = std::function<void(const std::string& task_id, const Result<nlohmann::json>& answer)>;
using Dispatch = std::function<void(const std::string& hospital_id, const std::string& type, const nlohmann::json& body,
                                    TaskDone done)>;

struct EngineSettings {
    // The control plane's API as agents reach it: manifest_url is
    // <base>/api/v1/releases/<version>/manifest.
    std::function<std::string()> manifest_base_url = [] { return std::string("http://127.0.0.1:8080"); };
    int version_window = 5;  // releases an agent may be behind and still be upgraded in one step
    ProtocolWindow window;   // the registry's: an agent outside it is not a success
};

class RolloutEngine {
public:
    RolloutEngine(RolloutStore& store, FleetSource fleet, ReleaseSource& releases, Dispatch dispatch, Clock& clock,
                  EngineSettings settings = {});
    ~RolloutEngine();

    // Plans a rollout: the release must be published; targets are the fleet's hospitals the
    // selector matches that are below the release, canaries first, the rest in an order fixed
    // by the release and hospital id (a hash: reproducible, and a different first wave per
    // release). Errors: NotFound "release.not_found"; BadInput "rollout.no_targets".
    Result<Rollout> start(RolloutSpec spec, const std::string& who);
    // Errors: NotFound "rollout.not_found"; Rejected "rollout.final" (halted, aborted or
    // done rollouts stay so: start a new one).
    Result<Rollout> pause(const std::string& id, const std::string& who);
    Result<Rollout> resume(const std::string& id, const std::string& who);
    Result<Rollout> abort(const std::string& id, const std::string& who);
    Result<Rollout> get(const std::string& id);
    Result<std::vector<Rollout>> list(int limit);

    // One round over every active rollout (above). Returns how many changed.
    Result<int> tick();

    // An alert per hospital the newest rollout that took it refused for being too old,
    // while it is still at that version, and one for the newest rollout if it halted
    // (alerts::AlertEngine::add_source).
    Result<std::vector<alerts::Condition>> conditions();

    // Rounds every `interval` on the engine's thread, and soon after poke().
    void start_thread(std::chrono::milliseconds interval);
    void stop();
    void poke();

private:
    struct Send {
        std::string rollout_id, hospital_id, type;
        nlohmann::json body;
    };
    // One round of one rollout; true when it changed. Sends are queued for after the lock.
    bool advance(Rollout& r, const std::map<std::string, FleetRecord>& fleet, std::vector<Send>& sends);
    bool judge(Rollout& r, const std::map<std::string, FleetRecord>& fleet);
    bool start_wave(Rollout& r, int wave, const std::map<std::string, FleetRecord>& fleet, std::vector<Send>& sends);
    // Gates one target of a started wave (Pending or Checking); queues what to send.
    void gate(Rollout& r, Target& t, const FleetRecord* rec, std::vector<Send>& sends);
    void send_install(Rollout& r, Target& t, const FleetRecord& rec, std::vector<Send>& sends);
    // "" when `version` may be upgraded to `to` in one step, else why not.
    std::string outside_window(const std::string& version, const release::ReleaseVersion& to);
    void flush(std::vector<Send>& sends);
    void took_answer(const std::string& rollout_id, const std::string& hospital_id, const std::string& type,
                     const std::string& task_id, const Result<nlohmann::json>& answer);
    Result<Rollout> change(const std::string& id, const std::string& who, const char* what);
    Result<std::map<std::string, FleetRecord>> fleet_now();
    void loop();

    RolloutStore& store_;
    FleetSource fleet_;
    ReleaseSource& releases_;
    Dispatch dispatch_;
    Clock& clock_;
    EngineSettings settings_;

    std::mutex mu_;  // one change at a time: rounds, operators' commands, answers
    // The repository's versions, read once per round (a listing reads every manifest).
    std::vector<release::ReleaseVersion> published_;
    // Answers of params.get that failed, by rollout and hospital (the reason), until the
    // next round reads them.
    std::map<std::pair<std::string, std::string>, std::string> params_failures_;

    std::chrono::milliseconds interval_{1000};
    std::mutex loop_mu_;
    std::condition_variable loop_cv_;
    bool stopping_ = false;
    bool poked_ = false;
    std::thread thread_;
};

// A Dispatch that runs each send on one of `threads` workers (a send through the router
// waits for the agent's answer; the engine's round must not), at most `capacity` waiting:
// beyond that a send is answered at once with Unavailable "rollout.send_queue_full" (the
// target is then judged by its deadline, as any unanswered one).
class SendWorkers {
public:
    using Send = std::function<void(const std::string& hospital_id, const std::string& type, const nlohmann::json& body,
                                    const TaskDone& done)>;
    SendWorkers(Send send, int threads, size_t capacity);
    ~SendWorkers();
    Dispatch dispatch();
    void stop();

private:
    struct Job {
        std::string hospital_id, type;
        nlohmann::json body;
        TaskDone done;
    };
    void work();
    Send send_;
    size_t capacity_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Job> queue_;  // FIFO from the front
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace hisgate::controlplane::rollout
