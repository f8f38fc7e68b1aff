#include "agent/probes/probe_runner.h"

#include <algorithm>

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace hisgate::agent::probes {

namespace {

using std::chrono::milliseconds;

// A state-file problem must not stop probing: the result still goes upstream.
void note(const Result<void>& r, const std::string& path) {
    if (!r) log::error("probe.state_failed", {{"path", path}, {"error", r.error().describe()}});
}

std::optional<std::string> first_unarchived(const std::vector<std::string>& cases, const std::set<std::string>& archived) {
    for (const auto& c : cases)
        if (!archived.count(c)) return c;
    return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<ProbeRunner>> ProbeRunner::create(HisAdapter& his, std::vector<ProbeSpec> probes,
                                                         const std::string& state_file, EventSink& events,
                                                         Clock& clock) {
    auto store = ProbeStore::open(state_file);
    if (!store) return store.error();
    return std::unique_ptr<ProbeRunner>(
        new ProbeRunner(his, std::move(probes), std::move(store.value()), events, clock));
}

ProbeRunner::ProbeRunner(HisAdapter& his, std::vector<ProbeSpec> probes, ProbeStore store, EventSink& events,
                         Clock& clock)
    : his_(his), probes_(std::move(probes)), events_(events), clock_(clock), store_(std::move(store)) {}

ProbeRunner::~ProbeRunner() { stop(); }

void ProbeRunner::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || probes_.empty()) return;
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
    log::info("probe.started", {{"probes", probes_.size()}});
}

void ProbeRunner::stop() {
    std::thread t;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        t = std::move(thread_);
    }
    wake_.notify_all();
    if (t.joinable()) t.join();
}

void ProbeRunner::loop() {
    name_this_thread("probes");
    std::vector<Clock::SteadyTime> due(probes_.size(), clock_.steady_now());
    std::unique_lock lock(mu_);
    while (!stopping_) {
        size_t next = std::min_element(due.begin(), due.end()) - due.begin();
        if (clock_.wait_until(lock, wake_, due[next], [this] { return stopping_; })) break;
        lock.unlock();
        auto began = clock_.steady_now();
        probe(probes_[next]);
        // Counted from the start of this probe, so a slow HIS does not stretch the interval.
        due[next] = began + probes_[next].interval;
        lock.lock();
    }
}

std::vector<ProbeResult> ProbeRunner::run_once() {
    std::vector<ProbeResult> results;
    for (const auto& spec : probes_) results.push_back(probe(spec));
    return results;
}

Result<ProbeResult> ProbeRunner::check(const std::string& path) {
    for (const auto& spec : probes_)
        if (spec.path == path) return probe(spec);
    return make_error(ErrorClass::NotFound, "probe.unknown_path", "no probe is configured for path \"" + path + "\"");
}

ProbeResult ProbeRunner::probe(const ProbeSpec& spec) {
    std::lock_guard lock(probe_mu_);
    ProbeResult r;
    r.path = spec.path;
    r.operation = spec.operation;
    r.at_ms = clock_.wall_ms();
    judge(spec, r);
    note(store_.record(spec.path, r.outcome, r.at_ms), spec.path);
    for (auto [window, into] : {std::pair{milliseconds(std::chrono::hours(1)), &r.last_hour},
                                std::pair{milliseconds(std::chrono::hours(24)), &r.last_day}}) {
        auto a = store_.availability(spec.path, r.at_ms, window);
        if (a) *into = a.value();
        else note(a.error(), spec.path);
    }
    publish(r);
    return r;
}

// Asks the HIS and decides the outcome; everything but the bookkeeping of record().
void ProbeRunner::judge(const ProbeSpec& spec, ProbeResult& r) {
    auto archived = store_.archived_cases(spec.path, spec.operation);
    if (!archived) {
        r.outcome = Outcome::Failed;
        r.error = archived.error();
        return;
    }
    auto current = first_unarchived(spec.cases, archived.value());
    if (!current) {
        r.outcome = Outcome::Failed;
        r.error = make_error(ErrorClass::Config, "probe.no_case",
                             "every candidate case of probe \"" + spec.path +
                                 "\" has been archived by the HIS; add fresh cases to the probes parameter");
        return;
    }
    r.case_id = *current;
    auto began = clock_.steady_now();
    auto answer = ask(his_, spec.operation, r.case_id, clock_.wall_now());
    r.seconds = std::chrono::duration<double>(clock_.steady_now() - began).count();

    if (!answer && answer.error().cls == ErrorClass::NotFound) {
        r.outcome = Outcome::Archived;
        r.error = answer.error();
        note(store_.archive(spec.path, spec.operation, r.case_id, r.at_ms), spec.path);
        auto now_archived = archived.value();
        now_archived.insert(r.case_id);
        r.next_case = first_unarchived(spec.cases, now_archived);
        return;
    }
    if (!answer) {
        r.outcome = Outcome::Failed;
        r.error = answer.error();
        return;
    }
    r.fingerprint = fingerprint(answer.value());
    auto last = store_.last_good(spec.path, spec.operation, r.case_id);
    if (!last) note(last.error(), spec.path);
    if (!last || !last.value()) {
        r.outcome = Outcome::Ok;
        r.first_answer = true;
    } else if (last.value()->fingerprint == r.fingerprint) {
        r.outcome = Outcome::Ok;
    } else {
        r.outcome = Outcome::Changed;
        r.diff = compare(last.value()->canonical, answer.value());
    }
    note(store_.save_last_good(spec.path, spec.operation, r.case_id,
                               ProbeStore::Answer{std::move(answer.value()), r.fingerprint, r.at_ms}),
         spec.path);
}

nlohmann::json ProbeRunner::summary() const {
    std::lock_guard lock(summary_mu_);
    return summary_;
}

void ProbeRunner::publish(const ProbeResult& r) {
    auto& m = metrics::global();
    m.counter("hisgate_agent_probe_results_total", "Probe results by business path and outcome.",
              {{"path", r.path}, {"outcome", std::string(to_string(r.outcome))}})
        .inc();
    if (!r.case_id.empty())  // the HIS was asked
        m.histogram("hisgate_agent_probe_duration_seconds", "How long the HIS took to answer a probe.", {{"path", r.path}})
            .observe(r.seconds);
    for (auto [window, a] : {std::pair{"1h", &r.last_hour}, std::pair{"24h", &r.last_day}}) {
        if (auto share = a->share())
            m.gauge("hisgate_agent_probe_availability",
                    "Share of a business path's probes that got an answer (ok, changed or archived) in the window.",
                    {{"path", r.path}, {"window", window}})
                .set(*share);
        m.gauge("hisgate_agent_probe_changed",
                "Probes of a business path whose answer differed from the last good one in the window (flag).",
                {{"path", r.path}, {"window", window}})
            .set(static_cast<double>(a->changed));
    }

    {
        // The heartbeat's summary: per path, the last outcome and the availability.
        nlohmann::json last{{"outcome", to_string(r.outcome)}};
        if (auto share = r.last_hour.share()) last["availability1h"] = *share;
        if (auto share = r.last_day.share()) last["availability24h"] = *share;
        std::lock_guard lock(summary_mu_);
        summary_[r.path] = std::move(last);
    }

    nlohmann::json fields{{"path", r.path},
                          {"operation", to_string(r.operation)},
                          {"case", r.case_id},
                          {"outcome", to_string(r.outcome)},
                          {"seconds", r.seconds}};
    if (r.outcome == Outcome::Changed) fields["diff"] = r.diff.to_json();  // field names only, never values
    if (r.error) fields["error"] = r.error->describe();
    if (r.outcome == Outcome::Archived) fields["next_case"] = r.next_case ? nlohmann::json(*r.next_case) : nullptr;
    if (r.outcome == Outcome::Ok) log::info("probe.result", std::move(fields));
    else log::warn("probe.result", std::move(fields));

    // Not stored (the agent logged and counted it): the path's next round reports afresh,
    // and the availability figures above come from the probe store, not from the events.
    if (auto sent = events_.emit("probe.result", r.to_json()); !sent)
        log::warn("probe.result_unsent", {{"path", r.path}, {"code", sent.error().code}});
}

}  // namespace hisgate::agent::probes
