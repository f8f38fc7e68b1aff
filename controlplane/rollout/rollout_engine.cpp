#include "controlplane/rollout/rollout_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/digest.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "controlplane/rollout/param_gate.h"
#include "release/install_report.h"
#include "release/repository.h"

namespace hisgate::controlplane::rollout {

namespace {
using nlohmann::json;
constexpr size_t kMaxReasonHospitals = 20;  // named in a halt reason; the rest counted

bool selector_matches(const Selector& s, const FleetRecord& r) {
    return (!s.region || r.region == *s.region) && (!s.dialect || r.dialect == *s.dialect) &&
           (!s.version || r.version == *s.version);
}

// The probe paths whose last outcome failed, from a state body's "probes" summary
// (agent/probes/probe_runner.h: {path: {"outcome", "availability1h", ...}}).
std::vector<std::string> failing_probes(const json& body) {
    std::vector<std::string> out;
    auto p = body.find("probes");
    if (p == body.end() || !p->is_object()) return out;
    for (const auto& [path, last] : p->items())
        if (last.is_object() && last.value("outcome", "") == "failed") out.push_back(path);
    return out;
}

bool has_probes(const json& body) {
    auto p = body.find("probes");
    return p != body.end() && p->is_object() && !p->empty();
}

std::string join_texts(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

class RepositoryReleases final : public ReleaseSource {
public:
    explicit RepositoryReleases(std::string dir) : dir_(std::move(dir)) {}

    std::vector<release::ReleaseVersion> published() override {
        std::vector<release::ReleaseVersion> out;
        for (const auto& r : release::list_published(dir_)) out.push_back(r.manifest.version);
        return out;
    }

    Result<std::shared_ptr<const params::Catalog>> catalog(const std::string& version) override {
        std::lock_guard lock(mu_);
        if (auto it = cache_.find(version); it != cache_.end()) return it->second;
        auto found = release::find_published(dir_, version);
        if (!found) return found.error();
        const std::string file = found->dir + "/params-catalog.json";
        auto sha = release::sha256_file(file);
        if (!sha)
            return make_error(ErrorClass::NotFound, "rollout.no_catalog", "release " + version + " has no params-catalog.json");
        if (*sha != found->manifest.catalog_sha256)
            return make_error(ErrorClass::Rejected, "rollout.catalog_mismatch",
                              "params-catalog.json of release " + version + " is not the catalog its manifest names");
        auto loaded = params::Catalog::load(file);
        if (!loaded) return loaded.error();
        auto shared = std::make_shared<const params::Catalog>(std::move(loaded.value()));
        cache_[version] = shared;  // a published version never changes
        return shared;
    }

private:
    std::string dir_;
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<const params::Catalog>> cache_;
};

void count_target(TargetState s) {
    metrics::global()
        .counter("hisgate_rollout_targets_total", "Rollout targets settled, by outcome", {{"outcome", to_string(s)}})
        .inc();
}
}  // namespace

std::unique_ptr<ReleaseSource> repository_releases(std::string repo_dir) {
    return std::make_unique<RepositoryReleases>(std::move(repo_dir));
}

RolloutEngine::RolloutEngine(RolloutStore& store, FleetSource fleet, ReleaseSource& releases, Dispatch dispatch,
                             Clock& clock, EngineSettings settings)
    : store_(store), fleet_(std::move(fleet)), releases_(releases), dispatch_(std::move(dispatch)), clock_(clock),
      settings_(std::move(settings)) {}

RolloutEngine::~RolloutEngine() { stop(); }

Result<std::map<std::string, FleetRecord>> RolloutEngine::fleet_now() {
    auto all = fleet_();
    if (!all) return all.error();
    std::map<std::string, FleetRecord> out;
    for (auto& r : all.value()) {
        std::string id = r.hospital_id;
        out.emplace(std::move(id), std::move(r));
    }
    return out;
}

std::string RolloutEngine::outside_window(const std::string& version, const release::ReleaseVersion& to) {
    auto v = release::parse_version(version);
    if (!v) return "its version \"" + version.substr(0, 64) + "\" is not a release version";
    // The published releases between its version and the new one: more than the window
    // (the deltas a release carries, and what is kept alive) is too far for one step.
    int between = 0;
    for (const auto& p : published_)
        if (p > *v && p < to) ++between;
    if (between >= settings_.version_window)
        return "version " + version + " is " + std::to_string(between + 1) + " releases behind " + to.to_string() +
               ", outside the window of " + std::to_string(settings_.version_window) +
               ": upgrade it to a release within the window first";
    return "";
}

Result<Rollout> RolloutEngine::start(RolloutSpec spec, const std::string& who) {
    auto to = release::parse_version(spec.release);
    if (!to) return to.error();
    auto published = releases_.published();
    if (std::find(published.begin(), published.end(), *to) == published.end())
        return make_error(ErrorClass::NotFound, "release.not_found", "release " + spec.release + " is not published");
    auto fleet = fleet_now();
    if (!fleet) return fleet.error();

    Rollout r;
    r.id = "r-" + random_hex(8);
    r.spec = spec;
    r.created_by = who;
    r.created_ms = r.updated_ms = clock_.wall_ms();
    // Canaries first, as given; then online hospitals, then the others, each in an order
    // fixed by a hash of the release and the hospital id.
    std::vector<const FleetRecord*> chosen, rest;
    std::set<std::string> canary_set(spec.canaries.begin(), spec.canaries.end());
    auto below_release = [&](const FleetRecord& rec) {
        auto v = release::parse_version(rec.version);
        return !v || *v < *to;  // an unreadable version is taken (and refused at its wave, with an alert)
    };
    for (const auto& id : spec.canaries) {
        auto it = fleet->find(id);
        if (it == fleet->end())
            return make_error(ErrorClass::BadInput, "rollout.bad_spec", "canaries: no hospital " + id + " in the fleet");
        if (selector_matches(spec.select, it->second) && below_release(it->second)) chosen.push_back(&it->second);
    }
    for (const auto& [id, rec] : fleet.value())
        if (!canary_set.count(id) && selector_matches(spec.select, rec) && below_release(rec)) rest.push_back(&rec);
    std::map<std::string, std::string> order;
    for (const auto* rec : rest) order[rec->hospital_id] = sha256_hex(spec.release + "|" + rec->hospital_id);
    std::sort(rest.begin(), rest.end(), [&](const FleetRecord* a, const FleetRecord* b) {
        if (a->online != b->online) return a->online;
        return order[a->hospital_id] < order[b->hospital_id];
    });
    chosen.insert(chosen.end(), rest.begin(), rest.end());
    if (chosen.empty())
        return make_error(ErrorClass::BadInput, "rollout.no_targets",
                          "no hospital of the fleet matches the selector below release " + spec.release);
    const size_t n = chosen.size();
    size_t i = 0;
    for (int w = 0; w < r.wave_count(); ++w) {
        // Cumulative: wave w ends at ceil(n * share), at least one more than the last while any remain.
        auto upto = static_cast<size_t>(std::ceil(static_cast<double>(n) * spec.waves_bp[static_cast<size_t>(w)] / 10000.0));
        upto = std::clamp(upto, std::min(n, i + 1), n);
        for (; i < upto; ++i) {
            Target t;
            t.hospital_id = chosen[i]->hospital_id;
            t.wave = w;
            t.from_version = chosen[i]->version;
            r.targets.push_back(std::move(t));
        }
    }

    std::lock_guard lock(mu_);
    // A newer rollout supersedes older ones for its hospitals.
    auto active = store_.active();
    if (!active) return active.error();
    std::set<std::string> taken;
    for (const auto& t : r.targets) taken.insert(t.hospital_id);
    std::vector<Rollout> changed;
    for (auto& old : active.value()) {
        bool touched = false;
        for (auto& t : old.targets)
            if (!is_settled(t.state) && taken.count(t.hospital_id)) {
                t.state = TargetState::Superseded;
                t.reason = "superseded by rollout " + r.id + " (release " + spec.release + ")";
                t.judged_ms = r.created_ms;
                touched = true;
            }
        if (touched) {
            old.superseded_by = r.id;
            old.updated_ms = r.created_ms;
            changed.push_back(std::move(old));
        }
    }
    std::vector<const Rollout*> writes{&r};
    for (const auto& c : changed) writes.push_back(&c);
    if (auto saved = store_.save_all(writes); !saved) return saved.error();
    log::info("rollout.started", {{"rollout_id", r.id}, {"release", spec.release}, {"targets", r.targets.size()},
                                  {"by", who}, {"superseded_rollouts", changed.size()}});
    poke();
    return r;
}

Result<Rollout> RolloutEngine::change(const std::string& id, const std::string& who, const char* what) {
    std::lock_guard lock(mu_);
    auto found = store_.get(id);
    if (!found) return found.error();
    if (!*found) return make_error(ErrorClass::NotFound, "rollout.not_found", "no rollout " + id.substr(0, 64));
    Rollout r = std::move(**found);
    const std::string w = what;
    if (is_final(r.state))
        return make_error(ErrorClass::Rejected, "rollout.final",
                          "rollout " + id + " is " + to_string(r.state) + " and cannot " + w + "; start a new rollout");
    if (w == "pause") r.state = RolloutState::Paused;
    else if (w == "resume") r.state = RolloutState::Running;
    else {
        r.state = RolloutState::Aborted;
        r.halt_reason = "aborted by " + who;
    }
    r.updated_ms = clock_.wall_ms();
    if (auto saved = store_.save(r); !saved) return saved.error();
    log::info("rollout.changed", {{"rollout_id", id}, {"action", w}, {"by", who}});
    return r;
}

Result<Rollout> RolloutEngine::pause(const std::string& id, const std::string& who) { return change(id, who, "pause"); }
Result<Rollout> RolloutEngine::resume(const std::string& id, const std::string& who) {
    auto r = change(id, who, "resume");
    if (r) poke();
    return r;
}
Result<Rollout> RolloutEngine::abort(const std::string& id, const std::string& who) { return change(id, who, "abort"); }

Result<Rollout> RolloutEngine::get(const std::string& id) {
    auto found = store_.get(id);
    if (!found) return found.error();
    if (!*found) return make_error(ErrorClass::NotFound, "rollout.not_found", "no rollout " + id.substr(0, 64));
    return std::move(**found);
}

Result<std::vector<Rollout>> RolloutEngine::list(int limit) { return store_.list(limit); }

Result<int> RolloutEngine::tick() {
    std::vector<Send> sends;
    int changed = 0;
    {
        std::lock_guard lock(mu_);
        auto active = store_.active();
        if (!active) return active.error();
        if (active->empty()) return 0;
        published_ = releases_.published();
        auto fleet = fleet_now();
        if (!fleet) return fleet.error();
        for (auto& r : active.value()) {
            if (!advance(r, *fleet, sends)) continue;
            r.updated_ms = clock_.wall_ms();
            if (auto saved = store_.save(r); !saved) {
                // Nothing of this round's change is kept, and nothing of it is sent.
                log::error("rollout.store_failed", {{"rollout_id", r.id}, {"error", saved.error().describe()}});
                std::erase_if(sends, [&](const Send& s) { return s.rollout_id == r.id; });
                continue;
            }
            ++changed;
        }
    }
    flush(sends);
    return changed;
}

bool RolloutEngine::advance(Rollout& r, const std::map<std::string, FleetRecord>& fleet, std::vector<Send>& sends) {
    bool changed = judge(r, fleet);
    const int64_t now = clock_.wall_ms();
    // Answers that came since the last round.
    for (auto& t : r.targets) {
        auto failure = params_failures_.find({r.id, t.hospital_id});
        if (failure == params_failures_.end()) continue;
        if (t.state == TargetState::Checking) {
            t.state = TargetState::Held;
            t.reason = "the hospital's parameter file could not be had (" + failure->second + ")";
            t.judged_ms = now;
            count_target(t.state);
            changed = true;
        }
        params_failures_.erase(failure);
    }
    // The threshold: failed / sent above maxFailure halts it by itself, mid-wave.
    const int sent = r.sent(), failed = r.failed();
    if (r.state != RolloutState::Halted && sent > 0 &&
        static_cast<int64_t>(failed) * 10000 > static_cast<int64_t>(r.spec.max_failure_bp) * sent) {
        std::vector<std::string> named;
        size_t more = 0;
        for (const auto& t : r.targets)
            if (t.state == TargetState::Failed) {
                if (named.size() < kMaxReasonHospitals) named.push_back(t.hospital_id + ": " + t.reason);
                else ++more;
            }
        r.state = RolloutState::Halted;
        char share[64];
        std::snprintf(share, sizeof share, "(%.3g%%), above the %.3g%% allowed", failed * 100.0 / sent,
                      r.spec.max_failure_bp / 100.0);
        r.halt_reason = std::to_string(failed) + " of " + std::to_string(sent) + " hospitals sent the release failed " +
                        share + ", in wave " + std::to_string(r.current_wave + 1) + ": " + join_texts(named) +
                        (more ? "; and " + std::to_string(more) + " more" : "");
        log::error("rollout.halted", {{"rollout_id", r.id}, {"release", r.spec.release}, {"failed", failed}, {"sent", sent},
                                      {"wave", r.current_wave + 1}});
        metrics::global().counter("hisgate_rollouts_halted_total", "Rollouts that halted by themselves").inc();
        return true;
    }
    if (r.state != RolloutState::Running) return changed;
    // The started waves' gating goes on (targets waiting for their parameter file).
    for (auto& t : r.targets)
        if (t.wave <= r.current_wave && t.state == TargetState::Checking) {
            auto rec = fleet.find(t.hospital_id);
            gate(r, t, rec == fleet.end() ? nullptr : &rec->second, sends);
            changed |= t.state != TargetState::Checking;
        }
    bool started_settled = std::all_of(r.targets.begin(), r.targets.end(),
                                       [&](const Target& t) { return t.wave > r.current_wave || is_settled(t.state); });
    if (!started_settled) return changed;
    if (r.current_wave + 1 >= r.wave_count()) {
        r.state = RolloutState::Done;
        auto f = r.figures(-1);
        log::info("rollout.done", {{"rollout_id", r.id}, {"release", r.spec.release}, {"succeeded", f.succeeded},
                                   {"held", f.held}, {"refused", f.refused}, {"failed", f.failed}});
        return true;
    }
    return start_wave(r, r.current_wave + 1, fleet, sends) || true;
}

namespace {
// "" unless `rec`'s lastInstall says its updater rolled `release` back at or after the
// second `sent_ms` falls in; else the reason, with the updater's code and message.
std::string rolled_back_by_updater(const FleetRecord* rec, const std::string& release, int64_t sent_ms) {
    if (!rec) return "";
    auto li = rec->body.find("lastInstall");
    if (li == rec->body.end()) return "";
    auto report = release::read_install_report(*li);  // the registry kept it only if it reads
    if (!report || !report->rolled_back || report->to != release) return "";
    if (report->at_ms() < sent_ms - sent_ms % 1000) return "";  // an earlier attempt's
    std::string why = "rolled back by its updater: " + (report->error_code.empty() ? "no code" : report->error_code);
    if (!report->error_message.empty()) why += ": " + report->error_message;
    return why;
}
}  // namespace

bool RolloutEngine::judge(Rollout& r, const std::map<std::string, FleetRecord>& fleet) {
    const int64_t now = clock_.wall_ms();
    bool changed = false;
    for (auto& t : r.targets) {
        if (t.state != TargetState::Installing) continue;
        auto it = fleet.find(t.hospital_id);
        const FleetRecord* rec = it == fleet.end() ? nullptr : &it->second;
        const bool newer_session = rec && rec->session > t.session_at_send;
        const bool at_new = rec && rec->version == r.spec.release;
        auto settle = [&](TargetState s, std::string why) {
            t.state = s;
            t.reason = std::move(why);
            t.judged_ms = now;
            changed = true;
            count_target(s);
            log::info("rollout.target_judged", {{"rollout_id", r.id}, {"hospital_id", t.hospital_id},
                                                {"outcome", to_string(s)}, {"reason", t.reason}});
        };
        bool healthy_now = false;
        if (newer_session && at_new && rec->online) {
            if (t.seen_new_ms == 0) {
                t.seen_new_ms = now;
                changed = true;
            }
            // A heartbeat of the new version since it was seen: its probe summary is the new
            // version's, not the last one of the old process.
            const bool heartbeat_since = rec->last_heartbeat_ms > 0 && rec->last_heartbeat_ms >= t.seen_new_ms;
            healthy_now = heartbeat_since && rec->compatible(settings_.window) && failing_probes(rec->body).empty() &&
                          (!r.spec.require_probes || has_probes(rec->body));
        }
        // The soak: healthy in every round for spec.soak_ms, counted from the first round of
        // the current healthy stretch; a round that is not healthy starts it again.
        if (healthy_now && t.healthy_since_ms == 0) {
            t.healthy_since_ms = now;
            changed = true;
        } else if (!healthy_now && t.healthy_since_ms != 0) {
            log::warn("rollout.soak_restarted", {{"rollout_id", r.id}, {"hospital_id", t.hospital_id},
                                                 {"healthy_for_ms", now - t.healthy_since_ms},
                                                 {"online", rec && rec->online}, {"version", rec ? rec->version : ""}});
            t.healthy_since_ms = 0;
            changed = true;
        }
        if (healthy_now && now - t.healthy_since_ms >= r.spec.soak_ms) {
            settle(TargetState::Succeeded, "at " + r.spec.release + ", probes passing" +
                                               (r.spec.soak_ms ? " for " + std::to_string(r.spec.soak_ms / 1000) + " s" : ""));
            continue;
        }
        // The updater said so itself: it tried this release after the install was sent and
        // rolled it back (release/install_report.h). `at` is the updater's clock in whole
        // seconds: compared with the second the install was sent in.
        if (auto why = rolled_back_by_updater(rec, r.spec.release, t.sent_ms); !why.empty()) {
            settle(TargetState::Failed, why);
            continue;
        }
        if (t.seen_new_ms > 0 && newer_session && rec->online && !at_new) {
            settle(TargetState::Failed, "rolled back: seen at " + r.spec.release + ", then back at version " + rec->version);
            continue;
        }
        if (now < t.deadline_ms) continue;
        std::string why;
        if (!rec) why = "gone from the fleet registry";
        else if (!newer_session && rec->updated_ms <= t.sent_ms) why = "silent past the wave's deadline: no state since the install was sent";
        else if (!rec->online) why = "offline at the wave's deadline";
        else if (!at_new) why = "still at version " + rec->version + " at the wave's deadline";
        else if (auto failing = failing_probes(rec->body); !failing.empty()) why = "at " + r.spec.release + " but probes failing: " + join_texts(failing);
        else if (r.spec.require_probes && !has_probes(rec->body)) why = "at " + r.spec.release + " but no probe results by the deadline";
        else if (healthy_now)
            why = "at " + r.spec.release + " and healthy for " + std::to_string((now - t.healthy_since_ms) / 1000) + " s of the " +
                  std::to_string(r.spec.soak_ms / 1000) + " s soak by the wave's deadline";
        else why = "at " + r.spec.release + " but no heartbeat of the new version by the deadline";
        settle(TargetState::Failed, why);
    }
    return changed;
}

bool RolloutEngine::start_wave(Rollout& r, int wave, const std::map<std::string, FleetRecord>& fleet,
                               std::vector<Send>& sends) {
    r.current_wave = wave;
    r.wave_started_ms = clock_.wall_ms();
    log::info("rollout.wave_started", {{"rollout_id", r.id}, {"wave", wave + 1}, {"size", r.figures(wave).size}});
    for (auto& t : r.targets) {
        if (t.wave != wave || t.state != TargetState::Pending) continue;
        auto rec = fleet.find(t.hospital_id);
        gate(r, t, rec == fleet.end() ? nullptr : &rec->second, sends);
    }
    return true;
}

void RolloutEngine::gate(Rollout& r, Target& t, const FleetRecord* rec, std::vector<Send>& sends) {
    const int64_t now = clock_.wall_ms();
    auto settle = [&](TargetState s, std::string why) {
        t.state = s;
        t.reason = std::move(why);
        t.judged_ms = now;
        count_target(s);
    };
    if (!rec) return settle(TargetState::Failed, "gone from the fleet registry");
    t.from_version = rec->version;
    auto to = release::parse_version(r.spec.release);
    if (auto v = release::parse_version(rec->version); v && to && *v >= *to)
        return settle(TargetState::Succeeded, "already at " + rec->version);
    if (std::string why = outside_window(rec->version, *to); !why.empty()) {
        log::error("rollout.agent_too_old",
                   {{"rollout_id", r.id}, {"hospital_id", t.hospital_id}, {"version", rec->version}, {"release", r.spec.release}});
        return settle(TargetState::Refused, why);
    }
    if (!r.spec.overrides(t.hospital_id)) {
        auto new_catalog = releases_.catalog(r.spec.release);
        if (!new_catalog) return settle(TargetState::Held, "the release's parameter catalog: " + new_catalog.error().describe());
        auto old_catalog = releases_.catalog(rec->version);
        std::optional<json> file;
        if (!rec->params_hash.empty())
            if (auto held = store_.params_file(t.hospital_id, rec->params_hash); held) file = held.value();
        auto verdict = check_params(old_catalog ? old_catalog->get() : nullptr, **new_catalog, file, t.hospital_id);
        if (verdict.kind == GateVerdict::Kind::Hold) {
            t.params_problems = verdict.problems;
            log::warn("rollout.target_held", {{"rollout_id", r.id}, {"hospital_id", t.hospital_id},
                                              {"problems", verdict.problems.size()}});
            return settle(TargetState::Held, verdict.reason);
        }
        if (verdict.kind == GateVerdict::Kind::NeedFile) {
            if (t.state == TargetState::Pending) {
                t.state = TargetState::Checking;
                t.reason = verdict.reason;
                t.params_problems = verdict.problems;
                sends.push_back({r.id, t.hospital_id, "params.get", json::object({{"paramsHash", rec->params_hash}})});
            } else if (now >= r.wave_started_ms + r.spec.wave_timeout_ms) {
                settle(TargetState::Held, "the hospital's parameter file did not come within the wave timeout; " + verdict.reason);
            }
            return;
        }
        t.params_problems = json::array();
    }
    send_install(r, t, *rec, sends);
}

void RolloutEngine::send_install(Rollout& r, Target& t, const FleetRecord& rec, std::vector<Send>& sends) {
    const int64_t now = clock_.wall_ms();
    t.state = TargetState::Installing;
    t.reason = "";
    t.sent_ms = now;
    t.deadline_ms = now + r.spec.wave_timeout_ms;
    t.session_at_send = rec.session;
    t.seen_new_ms = 0;
    t.healthy_since_ms = 0;
    sends.push_back({r.id, t.hospital_id, "release.install",
                     {{"version", r.spec.release},
                      {"manifest_url", settings_.manifest_base_url() + "/api/v1/releases/" + r.spec.release + "/manifest"}}});
}

void RolloutEngine::flush(std::vector<Send>& sends) {
    for (auto& s : sends) {
        metrics::global()
            .counter("hisgate_rollout_tasks_sent_total", "Tasks a rollout sent to agents", {{"type", s.type}})
            .inc();
        auto rollout_id = s.rollout_id, hospital_id = s.hospital_id, type = s.type;
        dispatch_(s.hospital_id, s.type, s.body, [this, rollout_id, hospital_id, type](const std::string& task_id, const Result<json>& answer) {
            took_answer(rollout_id, hospital_id, type, task_id, answer);
        });
    }
    sends.clear();
}

void RolloutEngine::took_answer(const std::string& rollout_id, const std::string& hospital_id, const std::string& type,
                                const std::string& task_id, const Result<json>& answer) {
    if (type == "release.install") {
        // Never taken for success or failure (the registry decides): logged only.
        log::info("rollout.install_answered", {{"rollout_id", rollout_id}, {"hospital_id", hospital_id}, {"task_id", task_id},
                                               {"outcome", answer ? "ok" : answer.error().code}});
        return;
    }
    std::string failure;
    if (!answer) failure = answer.error().code + ": " + answer.error().message;
    else if (!answer->is_object() || !answer->contains("params") || !(*answer)["params"].is_object())
        failure = "params.get answered without a \"params\" object";
    else {
        const json& file = (*answer)["params"];
        // The hash the agent's birth advertises is of this canonical form (config-params/param_set.h).
        const std::string hash = sha256_hex(file.dump());
        if (auto put = store_.put_params_file(hospital_id, hash, file, clock_.wall_ms()); !put)
            failure = put.error().describe();
        else log::info("rollout.params_file_received", {{"hospital_id", hospital_id}, {"params_hash", hash}});
    }
    if (!failure.empty()) {
        std::lock_guard lock(mu_);
        params_failures_[{rollout_id, hospital_id}] = failure;
    }
    poke();
}

Result<std::vector<alerts::Condition>> RolloutEngine::conditions() {
    auto recent = store_.list(50);
    if (!recent) return recent.error();
    auto fleet = fleet_now();
    if (!fleet) return fleet.error();
    std::vector<alerts::Condition> out;
    if (!recent->empty() && recent->front().state == RolloutState::Halted) {
        const auto& halted = recent->front();
        out.push_back({kHaltedRule, "", halted.id,
                       "rollout " + halted.id + " of release " + halted.spec.release + " halted: " + halted.halt_reason});
    }
    std::set<std::string> seen;  // hospitals whose newest rollout was looked at
    for (const auto& r : recent.value()) {  // newest first
        if (r.state == RolloutState::Aborted) continue;
        for (const auto& t : r.targets) {
            if (!seen.insert(t.hospital_id).second || t.state != TargetState::Refused) continue;
            auto rec = fleet->find(t.hospital_id);
            if (rec == fleet->end() || rec->second.version != t.from_version) continue;  // upgraded since
            out.push_back({kTooOldRule, t.hospital_id, r.spec.release,
                           "rollout " + r.id + " of release " + r.spec.release + " refused the agent: " + t.reason});
        }
    }
    return out;
}

void RolloutEngine::start_thread(std::chrono::milliseconds interval) {
    interval_ = interval;
    {
        std::lock_guard lock(loop_mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { loop(); });
}

void RolloutEngine::stop() {
    {
        std::lock_guard lock(loop_mu_);
        stopping_ = true;
    }
    loop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void RolloutEngine::poke() {
    {
        std::lock_guard lock(loop_mu_);
        poked_ = true;
    }
    loop_cv_.notify_all();
}

void RolloutEngine::loop() {
    std::unique_lock lock(loop_mu_);
    while (!stopping_) {
        clock_.wait_for(lock, loop_cv_, interval_, [&] { return stopping_ || poked_; });
        if (stopping_) break;
        poked_ = false;
        lock.unlock();
        if (auto round = tick(); !round) log::error("rollout.round_failed", {{"error", round.error().describe()}});
        lock.lock();
    }
}

SendWorkers::SendWorkers(Send send, int threads, size_t capacity) : send_(std::move(send)), capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

SendWorkers::~SendWorkers() { stop(); }

void SendWorkers::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

Dispatch SendWorkers::dispatch() {
    return [this](const std::string& hospital_id, const std::string& type, const json& body, TaskDone done) {
        {
            std::lock_guard lock(mu_);
            if (!stopping_ && queue_.size() < capacity_) {
                queue_.push_back({hospital_id, type, body, std::move(done)});
                cv_.notify_one();
                return;
            }
        }
        done("", make_error(ErrorClass::Unavailable, "rollout.send_queue_full", "too many rollout tasks waiting to be sent"));
    };
}

void SendWorkers::work() {
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;  // what waits is judged by its deadline, as an unanswered send
        Job job = std::move(queue_.front());
        queue_.erase(queue_.begin());
        lock.unlock();
        send_(job.hospital_id, job.type, job.body, job.done);
        lock.lock();
    }
}

}  // namespace hisgate::controlplane::rollout
