#include "controlplane/rollout/rollout.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "release/release_version.h"
#include "transport/topics.h"

namespace hisgate::controlplane::rollout {

namespace {
using nlohmann::json;
constexpr const char* kBadSpec = "rollout.bad_spec";

Error bad_spec(const std::string& field, const std::string& expected, const std::string& found = "") {
    std::string msg = field + ": expected " + expected;
    if (!found.empty()) msg += ", found \"" + found.substr(0, 64) + "\"";
    return make_error(ErrorClass::BadInput, kBadSpec, msg);
}

// 1 to 64 of A-Z a-z 0-9 . _ + : - (as the fleet API's filters).
bool valid_selector_value(const std::string& v) {
    if (v.empty() || v.size() > 64) return false;
    return std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == ':' || c == '-';
    });
}

Result<std::vector<std::string>> id_list(const json& body, const char* field, bool star_allowed) {
    std::vector<std::string> out;
    auto it = body.find(field);
    if (it == body.end()) return out;
    if (!it->is_array() || it->size() > kMaxListedIds)
        return bad_spec(field, "an array of at most 1000 hospital ids");
    std::set<std::string> seen;
    for (const auto& v : *it) {
        if (!v.is_string()) return bad_spec(field, "hospital ids (strings)");
        auto s = v.get<std::string>();
        if (!(star_allowed && s == "*") && !topics::valid_hospital_id(s)) return bad_spec(field, "hospital ids", s);
        if (seen.insert(s).second) out.push_back(s);
    }
    return out;
}

template <class E>
struct Named {
    E value;
    const char* name;
};
constexpr Named<RolloutState> kRolloutStates[] = {{RolloutState::Running, "running"},
                                                  {RolloutState::Paused, "paused"},
                                                  {RolloutState::Halted, "halted"},
                                                  {RolloutState::Aborted, "aborted"},
                                                  {RolloutState::Done, "done"}};
constexpr Named<TargetState> kTargetStates[] = {
    {TargetState::Pending, "pending"},     {TargetState::Checking, "checking"}, {TargetState::Installing, "installing"},
    {TargetState::Succeeded, "succeeded"}, {TargetState::Failed, "failed"},     {TargetState::Held, "held"},
    {TargetState::Refused, "refused"},     {TargetState::Superseded, "superseded"}};
}  // namespace

const char* to_string(RolloutState s) {
    for (const auto& n : kRolloutStates)
        if (n.value == s) return n.name;
    return "?";
}
const char* to_string(TargetState s) {
    for (const auto& n : kTargetStates)
        if (n.value == s) return n.name;
    return "?";
}
std::optional<RolloutState> rollout_state_from(const std::string& s) {
    for (const auto& n : kRolloutStates)
        if (s == n.name) return n.value;
    return std::nullopt;
}
std::optional<TargetState> target_state_from(const std::string& s) {
    for (const auto& n : kTargetStates)
        if (s == n.name) return n.value;
    return std::nullopt;
}

Result<int> parse_percent_bp(const std::string& text, const std::string& field) {
    // "12.5%": digits, at most two decimals, then "%"; 0..100.
    if (text.size() < 2 || text.size() > 8 || text.back() != '%') return bad_spec(field, "a percentage such as 5%", text);
    std::string num = text.substr(0, text.size() - 1);
    int whole = 0, frac = 0, frac_digits = 0;
    bool dot = false, any = false;
    for (char c : num) {
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9') return bad_spec(field, "a percentage such as 5%", text);
        any = true;
        if (dot) {
            if (++frac_digits > 2) return bad_spec(field, "at most two decimals", text);
            frac = frac * 10 + (c - '0');
        } else {
            whole = whole * 10 + (c - '0');
            if (whole > 100) return bad_spec(field, "at most 100%", text);
        }
    }
    if (!any) return bad_spec(field, "a percentage such as 5%", text);
    if (frac_digits == 1) frac *= 10;
    int bp = whole * 100 + frac;
    if (bp > 10000) return bad_spec(field, "at most 100%", text);
    return bp;
}

Result<std::vector<int>> parse_waves(const std::string& text) {
    std::vector<int> out;
    size_t i = 0;
    while (i <= text.size()) {
        size_t j = text.find(',', i);
        if (j == std::string::npos) j = text.size();
        auto bp = parse_percent_bp(text.substr(i, j - i), "waves");
        if (!bp) return bp.error();
        if (*bp == 0 || (!out.empty() && *bp <= out.back()))
            return bad_spec("waves", "ascending percentages above 0%", text);
        out.push_back(*bp);
        if (out.size() > static_cast<size_t>(kMaxWaves)) return bad_spec("waves", "at most 10 waves", text);
        i = j + 1;
    }
    if (out.empty() || out.back() != 10000) return bad_spec("waves", "percentages ending with 100%", text);
    return out;
}

Result<int64_t> parse_duration_ms(const std::string& text, const std::string& field, int64_t min_ms, int64_t max_ms) {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits > 9) return bad_spec(field, "a duration such as 30m, 90s, 2h or 500ms", text);
    int64_t n = std::stoll(text.substr(0, digits));
    std::string unit = text.substr(digits);
    int64_t ms = unit == "ms" ? n : unit == "s" ? n * 1000 : unit == "m" ? n * 60000 : unit == "h" ? n * 3600000 : -1;
    if (ms < 0) return bad_spec(field, "a duration such as 30m, 90s, 2h or 500ms", text);
    if (ms < min_ms || ms > max_ms)
        return bad_spec(field, min_ms == 0 ? "at most 7 days" : "between 1s and 7 days", text);
    return ms;
}

Result<Selector> parse_selector(const std::string& text) {
    Selector s;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = text.find(',', i);
        if (j == std::string::npos) j = text.size();
        std::string pair = text.substr(i, j - i);
        size_t eq = pair.find('=');
        if (eq == std::string::npos) return bad_spec("select", "key=value pairs (region, dialect, version)", pair);
        std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
        if (!valid_selector_value(value)) return bad_spec("select." + key, "1 to 64 of A-Z a-z 0-9 . _ + : -", value);
        auto& slot = key == "region" ? s.region : key == "dialect" ? s.dialect : key == "version" ? s.version : s.region;
        if (key != "region" && key != "dialect" && key != "version")
            return bad_spec("select", "keys region, dialect or version", key);
        if (slot) return bad_spec("select", "each key once", key);
        slot = value;
        i = j + 1;
    }
    return s;
}

bool RolloutSpec::overrides(const std::string& hospital_id) const {
    return std::any_of(override_params.begin(), override_params.end(),
                       [&](const std::string& o) { return o == "*" || o == hospital_id; });
}

json RolloutSpec::to_json() const {
    json select = json::object();
    if (this->select.region) select["region"] = *this->select.region;
    if (this->select.dialect) select["dialect"] = *this->select.dialect;
    if (this->select.version) select["version"] = *this->select.version;
    return {{"release", release},           {"wavesBp", waves_bp},
            {"maxFailureBp", max_failure_bp}, {"select", select},
            {"waveTimeoutMs", wave_timeout_ms}, {"soakMs", soak_ms}, {"canaries", canaries},
            {"overrideParams", override_params}, {"requireProbes", require_probes}};
}

Result<RolloutSpec> spec_from_json(const json& body) {
    if (!body.is_object()) return bad_spec("body", "a JSON object");
    static const std::set<std::string> known = {"release", "waves", "maxFailure", "select", "waveTimeout", "soak",
                                                "canaries", "overrideParams", "requireProbes", "wavesBp",
                                                "maxFailureBp", "waveTimeoutMs", "soakMs"};
    for (const auto& [k, v] : body.items())
        if (!known.count(k)) return bad_spec(k, "no such field (release, waves, maxFailure, select, waveTimeout, soak, "
                                                "canaries, overrideParams, requireProbes)");
    RolloutSpec s;
    auto rel = body.find("release");
    if (rel == body.end() || !rel->is_string()) return bad_spec("release", "the version of a published release");
    auto v = release::parse_version(rel->get<std::string>());
    if (!v || v->to_string() != rel->get<std::string>())
        return bad_spec("release", "a version such as 1.2.0", rel->get<std::string>());
    s.release = v->to_string();
    auto text_of = [&](const char* f) -> std::optional<std::string> {
        auto it = body.find(f);
        if (it == body.end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
    };
    for (const char* f : {"waves", "maxFailure", "waveTimeout", "soak"})
        if (body.contains(f) && !body[f].is_string()) return bad_spec(f, "a string");
    if (auto w = text_of("waves")) {
        auto waves = parse_waves(*w);
        if (!waves) return waves.error();
        s.waves_bp = *waves;
    } else if (auto it = body.find("wavesBp"); it != body.end()) {  // as stored
        if (!it->is_array()) return bad_spec("wavesBp", "an array");
        s.waves_bp = it->get<std::vector<int>>();
    }
    if (auto m = text_of("maxFailure")) {
        auto bp = parse_percent_bp(*m, "maxFailure");
        if (!bp) return bp.error();
        s.max_failure_bp = *bp;
    } else if (auto it = body.find("maxFailureBp"); it != body.end() && it->is_number_integer()) {
        s.max_failure_bp = it->get<int>();
    }
    if (auto t = text_of("waveTimeout")) {
        auto ms = parse_duration_ms(*t, "waveTimeout");
        if (!ms) return ms.error();
        s.wave_timeout_ms = *ms;
    } else if (auto it = body.find("waveTimeoutMs"); it != body.end() && it->is_number_integer()) {
        s.wave_timeout_ms = it->get<int64_t>();
    }
    if (auto t = text_of("soak")) {
        auto ms = parse_duration_ms(*t, "soak", 0, kMaxWaveTimeoutMs);
        if (!ms) return ms.error();
        s.soak_ms = *ms;
        if (s.soak_ms >= s.wave_timeout_ms) return bad_spec("soak", "shorter than waveTimeout", *t);
    } else if (auto it = body.find("soakMs"); it != body.end() && it->is_number_integer()) {
        s.soak_ms = it->get<int64_t>();
    } else if (body.contains("waveTimeoutMs")) {
        s.soak_ms = 0;  // stored before soaks existed: judged as it was started
    } else {
        s.soak_ms = std::min(kDefaultSoakMs, s.wave_timeout_ms / 2);
    }
    if (auto it = body.find("select"); it != body.end()) {
        if (it->is_string()) {
            auto sel = parse_selector(it->get<std::string>());
            if (!sel) return sel.error();
            s.select = *sel;
        } else if (it->is_object()) {
            for (const auto& [k, val] : it->items()) {
                if (!val.is_string() || !valid_selector_value(val.get<std::string>()))
                    return bad_spec("select." + k, "1 to 64 of A-Z a-z 0-9 . _ + : -");
                if (k == "region") s.select.region = val.get<std::string>();
                else if (k == "dialect") s.select.dialect = val.get<std::string>();
                else if (k == "version") s.select.version = val.get<std::string>();
                else return bad_spec("select", "keys region, dialect or version", k);
            }
        } else {
            return bad_spec("select", "an object or \"key=value,...\"");
        }
    }
    auto canaries = id_list(body, "canaries", false);
    if (!canaries) return canaries.error();
    s.canaries = *canaries;
    auto overrides = id_list(body, "overrideParams", true);
    if (!overrides) return overrides.error();
    s.override_params = *overrides;
    if (auto it = body.find("requireProbes"); it != body.end()) {
        if (!it->is_boolean()) return bad_spec("requireProbes", "true or false");
        s.require_probes = it->get<bool>();
    }
    // The stored forms are checked as strictly as the typed ones.
    if (s.waves_bp.empty() || s.waves_bp.size() > static_cast<size_t>(kMaxWaves) || s.waves_bp.back() != 10000 ||
        !std::is_sorted(s.waves_bp.begin(), s.waves_bp.end()) || s.waves_bp.front() <= 0 ||
        std::adjacent_find(s.waves_bp.begin(), s.waves_bp.end()) != s.waves_bp.end())
        return bad_spec("waves", "ascending percentages ending with 100%");
    if (s.max_failure_bp < 0 || s.max_failure_bp > 10000) return bad_spec("maxFailure", "0% to 100%");
    if (s.wave_timeout_ms < kMinWaveTimeoutMs || s.wave_timeout_ms > kMaxWaveTimeoutMs)
        return bad_spec("waveTimeout", "between 1s and 7 days");
    if (s.soak_ms < 0 || s.soak_ms >= s.wave_timeout_ms) return bad_spec("soak", "0 or more, shorter than waveTimeout");
    return s;
}

json Target::to_json() const {
    json j = {{"hospitalId", hospital_id}, {"wave", wave + 1},         {"state", to_string(state)},
              {"fromVersion", from_version}, {"reason", reason},       {"sentMs", sent_ms},
              {"deadlineMs", deadline_ms}, {"sessionAtSend", session_at_send}, {"seenNewMs", seen_new_ms},
              {"healthySinceMs", healthy_since_ms}, {"judgedMs", judged_ms},     {"taskId", task_id}};
    if (!params_problems.empty()) j["paramsProblems"] = params_problems;
    return j;
}

Result<Target> Target::from_json(const json& j) {
    try {
        Target t;
        t.hospital_id = j.at("hospitalId").get<std::string>();
        t.wave = j.at("wave").get<int>() - 1;
        auto st = target_state_from(j.at("state").get<std::string>());
        if (!st) return make_error(ErrorClass::Internal, "rollout.corrupt", "unknown target state");
        t.state = *st;
        t.from_version = j.value("fromVersion", "");
        t.reason = j.value("reason", "");
        t.sent_ms = j.value("sentMs", int64_t{0});
        t.deadline_ms = j.value("deadlineMs", int64_t{0});
        t.session_at_send = j.value("sessionAtSend", int64_t{0});
        t.seen_new_ms = j.value("seenNewMs", int64_t{0});
        t.healthy_since_ms = j.value("healthySinceMs", int64_t{0});
        t.judged_ms = j.value("judgedMs", int64_t{0});
        t.task_id = j.value("taskId", "");
        if (auto p = j.find("paramsProblems"); p != j.end() && p->is_array()) t.params_problems = *p;
        return t;
    } catch (const json::exception& e) {
        return make_error(ErrorClass::Internal, "rollout.corrupt", std::string("a stored target does not read back: ") + e.what());
    }
}

WaveFigures Rollout::figures(int wave) const {
    WaveFigures f;
    for (const auto& t : targets) {
        if (wave >= 0 && t.wave != wave) continue;
        ++f.size;
        switch (t.state) {
            case TargetState::Pending: ++f.pending; break;
            case TargetState::Checking: ++f.checking; break;
            case TargetState::Installing: ++f.installing; break;
            case TargetState::Succeeded: ++f.succeeded; break;
            case TargetState::Failed: ++f.failed; break;
            case TargetState::Held: ++f.held; break;
            case TargetState::Refused: ++f.refused; break;
            case TargetState::Superseded: ++f.superseded; break;
        }
    }
    return f;
}

int Rollout::sent() const {
    int n = 0;
    for (const auto& t : targets)
        if (t.sent_ms > 0 && t.state != TargetState::Superseded) ++n;
    return n;
}

int Rollout::failed() const {
    int n = 0;
    for (const auto& t : targets) n += t.state == TargetState::Failed;
    return n;
}

namespace {
json figures_json(const WaveFigures& f) {
    return {{"size", f.size},           {"pending", f.pending}, {"checking", f.checking},
            {"installing", f.installing}, {"succeeded", f.succeeded}, {"failed", f.failed},
            {"held", f.held},           {"refused", f.refused}, {"superseded", f.superseded}};
}
}  // namespace

json Rollout::to_json(bool with_targets) const {
    json waves = json::array();
    for (int w = 0; w < wave_count(); ++w) {
        json one = figures_json(figures(w));
        one["wave"] = w + 1;
        one["percent"] = spec.waves_bp[static_cast<size_t>(w)] / 100.0;
        one["started"] = w <= current_wave;
        waves.push_back(std::move(one));
    }
    json j = {{"id", id},
              {"spec", spec.to_json()},
              {"release", spec.release},
              {"state", to_string(state)},
              {"createdBy", created_by},
              {"createdMs", created_ms},
              {"updatedMs", updated_ms},
              {"currentWave", current_wave + 1},
              {"waveStartedMs", wave_started_ms},
              {"haltReason", halt_reason},
              {"supersededBy", superseded_by},
              {"totals", figures_json(figures(-1))},
              {"sent", sent()},
              {"waves", std::move(waves)}};
    json held = json::array(), refused = json::array(), failed = json::array();
    for (const auto& t : targets) {
        if (t.state == TargetState::Held)
            held.push_back({{"hospitalId", t.hospital_id}, {"reason", t.reason}, {"paramsProblems", t.params_problems}});
        else if (t.state == TargetState::Refused)
            refused.push_back({{"hospitalId", t.hospital_id}, {"reason", t.reason}});
        else if (t.state == TargetState::Failed)
            failed.push_back({{"hospitalId", t.hospital_id}, {"reason", t.reason}});
    }
    j["held"] = std::move(held);
    j["refused"] = std::move(refused);
    j["failed"] = std::move(failed);
    if (with_targets) {
        json ts = json::array();
        for (const auto& t : targets) ts.push_back(t.to_json());
        j["targets"] = std::move(ts);
    }
    return j;
}

Result<Rollout> Rollout::from_json(const json& j) {
    try {
        Rollout r;
        r.id = j.at("id").get<std::string>();
        auto spec = spec_from_json(j.at("spec"));
        if (!spec) return make_error(ErrorClass::Internal, "rollout.corrupt", "stored spec: " + spec.error().message);
        r.spec = *spec;
        auto st = rollout_state_from(j.at("state").get<std::string>());
        if (!st) return make_error(ErrorClass::Internal, "rollout.corrupt", "unknown rollout state");
        r.state = *st;
        r.created_by = j.value("createdBy", "");
        r.created_ms = j.value("createdMs", int64_t{0});
        r.updated_ms = j.value("updatedMs", int64_t{0});
        r.current_wave = j.value("currentWave", 0) - 1;
        r.wave_started_ms = j.value("waveStartedMs", int64_t{0});
        r.halt_reason = j.value("haltReason", "");
        r.superseded_by = j.value("supersededBy", "");
        return r;
    } catch (const json::exception& e) {
        return make_error(ErrorClass::Internal, "rollout.corrupt", std::string("a stored rollout does not read back: ") + e.what());
    }
}

}  // namespace hisgate::controlplane::rollout
