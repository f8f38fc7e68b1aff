#include "agent/config_apply.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/registry.h"
#include "agent/agent_config.h"
#include "common/log.h"
#include "common/time_zone.h"
#include "common/utc_time.h"

namespace hisgate::agent {

namespace {

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS config_history(seq INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, "
    "hash TEXT NOT NULL, mode TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, at_ms INTEGER NOT NULL, "
    "params TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS config_pending(one INTEGER PRIMARY KEY CHECK(one = 1), version INTEGER NOT NULL, "
    "hash TEXT NOT NULL, params TEXT NOT NULL, received_ms INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS config_flags(one INTEGER PRIMARY KEY CHECK(one = 1), flags TEXT NOT NULL)"};

Error bad_request(const std::string& what) { return make_error(ErrorClass::BadInput, "config.invalid_request", what); }

// The parameter file, whole, or nothing: a temporary beside it, synced, renamed over it,
// the directory synced. Mode 0600: the file names the HIS's endpoints and secrets' paths
// (the doctor's permissions.params_file row).
Result<void> write_params_file(const std::string& path, const std::string& text) {
    auto fail = [&](const std::string& step) {
        return make_error(ErrorClass::Internal, "config.write_failed",
                          "cannot " + step + " the parameter file " + path + ": " + std::strerror(errno));
    };
    std::string tmp = path + ".pushing";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail("create a temporary beside");
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail("write");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail("sync");
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return fail("replace");
    }
    auto dir = std::filesystem::path(path).parent_path();
    if (int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        ::fsync(d);
        ::close(d);
    }
    return {};
}

// Parameters a running agent reads only at start: a pushed change to them holds from the
// next start (the answer's atRestart). Everything else is read through the adapter, the
// rules or this applier, which the swap replaces.
bool read_at_start(const std::string& name) {
    static const char* const kLive[] = {"his.", "appointment.", "config."};
    static const char* const kCaps[] = {"his.concurrency", "his.rate_per_minute", "his.deferred_drain_interval",
                                        "his.idempotent_orders", "his.processing_horizon"};
    for (const char* c : kCaps)
        if (name == c) return true;
    for (const char* l : kLive)
        if (name.starts_with(l)) return false;
    return true;
}

std::vector<std::string> changed_at_start(const params::ParamSet& before, const params::ParamSet& after) {
    std::vector<std::string> out;
    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return out;
    for (const auto& def : catalog->all())
        if (read_at_start(def.name) && before.json(def.name) != after.json(def.name)) out.push_back(def.name);
    return out;
}

std::vector<std::string> problem_lines(const std::string& message) {
    std::vector<std::string> lines;
    std::istringstream in(message);
    for (std::string line; std::getline(in, line) && lines.size() < 100;)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

}  // namespace

std::shared_ptr<HisAdapter> LiveAdapter::swap(std::shared_ptr<HisAdapter> next) {
    std::lock_guard lock(mu_);
    std::swap(current_, next);
    return next;
}

std::shared_ptr<HisAdapter> LiveAdapter::current() const {
    std::lock_guard lock(mu_);
    return current_;
}

Result<std::unique_ptr<ConfigApplier>> ConfigApplier::open(ConfigApplierSettings settings, LiveAdapter& live,
                                                          appointments::RuleSet first_rules, ConfigHooks hooks,
                                                          const Clock& clock) {
    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return catalog.error();
    std::ifstream in(settings.params_file);
    auto text = nlohmann::json::parse(in, nullptr, false);
    if (text.is_discarded())
        return make_error(ErrorClass::Config, "params.unreadable", "cannot read " + settings.params_file + " again");
    auto set = params::ParamSet::validate(catalog.value(), text, settings.params_file);
    if (!set) return set.error();
    auto db = sql::Db::open_with_schema(settings.state_db, {kSchema[0], kSchema[1], kSchema[2]});
    if (!db) return db.error();
    if (!hooks.build_adapter)
        hooks.build_adapter = [](const params::ParamSet& p) -> Result<std::shared_ptr<HisAdapter>> {
            auto made = AdapterRegistry::builtin().create(p);
            if (!made) return made.error();
            return std::shared_ptr<HisAdapter>(std::move(made.value()));
        };
    std::unique_ptr<ConfigApplier> a(new ConfigApplier(std::move(settings), live, std::move(hooks), clock, std::move(db.value())));
    a->running_ = std::move(set.value());
    a->running_json_ = std::move(text);
    a->rules_ = std::make_shared<const appointments::RuleSet>(std::move(first_rules));
    {
        std::lock_guard lock(a->db_mu_);
        auto st = a->db_.prepare("SELECT flags FROM config_flags WHERE one = 1");
        if (!st) return st.error();
        if (st->step()) {
            auto flags = params::FlagSet::from_json(nlohmann::json::parse(st->text(0), nullptr, false));
            if (flags) a->flags_ = std::move(flags.value());
        }
        auto pending = a->db_.prepare("SELECT 1 FROM config_pending WHERE one = 1");
        if (!pending) return pending.error();
        a->pending_ = pending->step();
    }
    return a;
}

ConfigApplier::ConfigApplier(ConfigApplierSettings settings, LiveAdapter& live, ConfigHooks hooks, const Clock& clock,
                             sql::Db db)
    : settings_(std::move(settings)), live_(live), hooks_(std::move(hooks)), clock_(clock), db_(std::move(db)) {}

std::string ConfigApplier::params_hash() const {
    std::lock_guard lock(mu_);
    return running_ ? running_->hash() : "";
}

std::shared_ptr<const appointments::RuleSet> ConfigApplier::rules() const {
    std::lock_guard lock(mu_);
    return rules_;
}

bool ConfigApplier::pending() const {
    std::lock_guard lock(mu_);
    return pending_;
}

bool ConfigApplier::enabled(std::string_view name, const std::string& hospital_id) const {
    if (hospital_id != settings_.hospital_id) return false;  // an agent knows only its own hospital
    std::lock_guard lock(mu_);
    params::FlagTarget self{settings_.hospital_id, running_->string("hospital.region"), running_->string("his.dialect"),
                            settings_.version};
    return flags_.enabled(name, self);
}

Result<nlohmann::json> ConfigApplier::apply(const nlohmann::json& body) {
    if (!body.is_object()) return bad_request("config.apply needs a JSON object body");
    Incoming in;
    auto params = body.find("params");
    if (params == body.end() || !params->is_object()) return bad_request("config.apply needs body.params, a JSON object");
    auto version = body.find("version");
    if (version == body.end() || !version->is_number_integer() || version->get<int64_t>() < 1)
        return bad_request("config.apply needs body.version, a whole number above 0");
    auto hash = body.find("hash");
    if (hash == body.end() || !hash->is_string() || hash->get_ref<const std::string&>().size() != 64)
        return bad_request("config.apply needs body.hash, the set's SHA-256 (64 hex digits)");
    in.mode = body.value("mode", std::string("standard"));
    if (in.mode != "now" && in.mode != "standard") return bad_request("config.apply body.mode is \"now\" or \"standard\"");
    in.params = *params;
    in.version = version->get<int64_t>();
    in.hash = hash->get<std::string>();

    std::lock_guard one(apply_mu_);
    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return catalog.error();
    if (in.params.dump().size() > kMaxParamSetBytes)
        return refuse(in, {"the set is larger than " + std::to_string(kMaxParamSetBytes) + " bytes"});
    auto set = params::ParamSet::validate(catalog.value(), in.params, "config v" + std::to_string(in.version));
    if (!set) return refuse(in, problem_lines(set.error().message));
    if (set->hash() != in.hash)
        return refuse(in, {"hash: the set's SHA-256 is " + set->hash() + ", the push says " + in.hash});
    if (set->string("hospital.id") != settings_.hospital_id)
        return refuse(in, {"hospital.id: the set is for " + set->string("hospital.id") + ", this agent serves " +
                           settings_.hospital_id});
    if (in.mode == "now") {
        // A newer set applied now makes a set still waiting for the window stale.
        if (pending()) {
            if (auto waiting = load_pending()) record(*waiting, "superseded", {{"by", in.version}});
            clear_pending();
        }
        return apply_now(in, set.value());
    }

    // Standard: checked now (a set that cannot apply is refused while the operator waits),
    // built and swapped at the quiet window.
    if (auto adapter = hooks_.build_adapter(set.value()); !adapter) return refuse(in, problem_lines(adapter.error().message));
    if (auto rules = rules_from_params(set.value(), "config"); !rules) return refuse(in, problem_lines(rules.error().message));
    if (auto stored = store_pending(in); !stored) return stored.error();
    auto now = clock_.wall_now();
    auto at = in_quiet_window(now) ? now : next_window(now);
    log::info("config.queued", {{"version", in.version}, {"hash", in.hash}, {"apply_after", iso_utc(at)}});
    record(in, "queued", {{"applyAfter", iso_utc(at)}});
    return nlohmann::json{{"outcome", "queued"}, {"version", in.version}, {"hash", in.hash}, {"applyAfter", iso_utc(at)}};
}

nlohmann::json ConfigApplier::refuse(const Incoming& in, const std::vector<std::string>& errors) {
    log::warn("config.refused", {{"version", in.version}, {"problems", errors.size()}});
    nlohmann::json detail = {{"errors", errors}};
    record(in, "refused", detail);
    return {{"outcome", "refused"}, {"version", in.version}, {"hash", in.hash}, {"errors", errors}};
}

nlohmann::json ConfigApplier::apply_now(const Incoming& in, const params::ParamSet& set) {
    auto adapter = hooks_.build_adapter(set);
    if (!adapter) return refuse(in, problem_lines(adapter.error().message));
    auto rules = rules_from_params(set, "config v" + std::to_string(in.version));
    if (!rules) return refuse(in, problem_lines(rules.error().message));
    std::optional<params::ParamSet> before;
    nlohmann::json before_json;
    {
        std::lock_guard lock(mu_);
        before = running_;
        before_json = running_json_;
    }
    if (auto written = write_params_file(settings_.params_file, in.params.dump(2) + "\n"); !written) {
        log::error("config.not_applied", {{"version", in.version}, {"error", written.error().describe()}});
        nlohmann::json detail = {{"errors", {written.error().message}}};
        record(in, "failed", detail);
        return {{"outcome", "failed"}, {"version", in.version}, {"hash", in.hash}, {"errors", detail["errors"]}};
    }
    auto old_adapter = live_.swap(std::move(adapter.value()));
    std::shared_ptr<const appointments::RuleSet> old_rules;
    {
        std::lock_guard lock(mu_);
        old_rules = std::exchange(rules_, std::make_shared<const appointments::RuleSet>(std::move(rules.value())));
        running_ = set;
        running_json_ = in.params;
    }
    auto at_restart = changed_at_start(*before, set);
    std::vector<std::string> failures;
    if (hooks_.path_check && checked_his_) failures = hooks_.path_check(*checked_his_, set);
    if (failures.empty()) {
        log::info("config.applied", {{"version", in.version}, {"hash", in.hash}, {"mode", in.mode}});
        nlohmann::json detail = {{"atRestart", at_restart}};
        record(in, "applied", detail);
        return {{"outcome", "applied"}, {"version", in.version}, {"hash", in.hash}, {"atRestart", at_restart}};
    }
    // A path the previous set served does not answer with this one: back, by itself.
    live_.swap(std::move(old_adapter));
    {
        std::lock_guard lock(mu_);
        rules_ = std::move(old_rules);
        running_ = std::move(before);
        running_json_ = before_json;
    }
    if (auto restored = write_params_file(settings_.params_file, before_json.dump(2) + "\n"); !restored)
        log::error("config.restore_failed", {{"error", restored.error().describe()}});
    log::warn("config.reverted", {{"version", in.version}, {"hash", in.hash}, {"failed_checks", failures.size()}});
    nlohmann::json detail = {{"failedChecks", failures}};
    record(in, "reverted", detail);
    return {{"outcome", "reverted"}, {"version", in.version}, {"hash", in.hash}, {"failedChecks", failures}};
}

void ConfigApplier::record(const Incoming& in, const std::string& outcome, const nlohmann::json& detail) {
    std::lock_guard lock(db_mu_);
    auto done = db_.transaction([&]() -> Result<void> {
        auto ins = db_.prepare(
            "INSERT INTO config_history(version, hash, mode, outcome, detail, at_ms, params) VALUES(?, ?, ?, ?, ?, ?, ?)");
        if (!ins) return ins.error();
        ins->bind(1, in.version).bind(2, in.hash).bind(3, in.mode).bind(4, outcome).bind(5, detail.dump());
        ins->bind(6, clock_.wall_ms()).bind(7, outcome == "applied" ? in.params.dump() : std::string("{}"));
        if (auto r = ins->run(); !r) return r.error();
        auto trim = db_.prepare(
            "DELETE FROM config_history WHERE seq <= (SELECT max(seq) FROM config_history) - ?");
        if (!trim) return trim.error();
        return trim->bind(1, int64_t{kConfigHistoryKeep}).run();
    });
    if (!done) log::error("config.history_not_stored", {{"error", done.error().describe()}});
}

Result<nlohmann::json> ConfigApplier::history() const {
    std::lock_guard lock(db_mu_);
    auto st = const_cast<sql::Db&>(db_).prepare(
        "SELECT version, hash, mode, outcome, detail, at_ms FROM config_history ORDER BY seq DESC");
    if (!st) return st.error();
    nlohmann::json rows = nlohmann::json::array();
    while (st->step())
        rows.push_back({{"version", st->integer(0)},
                        {"hash", st->text(1)},
                        {"mode", st->text(2)},
                        {"outcome", st->text(3)},
                        {"detail", nlohmann::json::parse(st->text(4), nullptr, false)},
                        {"at", iso_utc(Clock::WallTime(std::chrono::milliseconds(st->integer(5))))}});
    if (st->error()) return *st->error();
    return nlohmann::json{{"history", rows}, {"paramsHash", params_hash()}, {"pending", pending()}};
}

Result<nlohmann::json> ConfigApplier::set_flags(const nlohmann::json& body) {
    auto flags = params::FlagSet::from_json(body);
    if (!flags) return flags.error();
    {
        std::lock_guard lock(db_mu_);
        auto st = db_.prepare("INSERT INTO config_flags(one, flags) VALUES(1, ?) ON CONFLICT(one) DO UPDATE SET flags = excluded.flags");
        if (!st) return st.error();
        if (auto r = st->bind(1, flags->to_json().dump()).run(); !r) return r.error();
    }
    std::vector<std::string> on;
    {
        std::lock_guard lock(mu_);
        flags_ = std::move(flags.value());
        params::FlagTarget self{settings_.hospital_id, running_->string("hospital.region"),
                                running_->string("his.dialect"), settings_.version};
        on = flags_.enabled_for(self);
    }
    log::info("config.flags", {{"flags", body["flags"].size()}, {"enabled", on.size()}});
    return nlohmann::json{{"enabled", on}, {"version", settings_.version}};
}

bool ConfigApplier::in_quiet_window(Clock::WallTime t) const {
    std::lock_guard lock(mu_);
    int from = running_->time_of_day("config.quiet_window.from");
    int until = running_->time_of_day("config.quiet_window.until");
    if (from == until) return true;
    auto zone = TimeZone::load(running_->string("hospital.timezone"));
    auto local = (zone ? zone.value() : TimeZone()).to_local(std::chrono::floor<std::chrono::seconds>(t));
    auto minute = static_cast<int>(
        std::chrono::duration_cast<std::chrono::minutes>(local - std::chrono::floor<std::chrono::days>(local)).count());
    return from < until ? minute >= from && minute < until : minute >= from || minute < until;
}

Clock::WallTime ConfigApplier::next_window(Clock::WallTime t) const {
    std::lock_guard lock(mu_);
    int from = running_->time_of_day("config.quiet_window.from");
    auto zone = TimeZone::load(running_->string("hospital.timezone"));
    TimeZone z = zone ? zone.value() : TimeZone();
    auto now = std::chrono::floor<std::chrono::seconds>(t);
    auto today = std::chrono::floor<std::chrono::days>(z.to_local(now));
    for (int day = 0; day < 3; ++day) {
        auto at = z.to_utc(std::chrono::year_month_day(std::chrono::sys_days((today + std::chrono::days(day)).time_since_epoch())), from);
        if (at >= now) return at;
    }
    return now;
}

Result<void> ConfigApplier::store_pending(const Incoming& in) {
    bool replaced = false;
    {
        std::lock_guard lock(db_mu_);
        auto done = db_.transaction([&]() -> Result<void> {
            auto old = db_.prepare("SELECT 1 FROM config_pending WHERE one = 1");
            if (!old) return old.error();
            replaced = old->step();
            auto st = db_.prepare(
                "INSERT INTO config_pending(one, version, hash, params, received_ms) VALUES(1, ?, ?, ?, ?) "
                "ON CONFLICT(one) DO UPDATE SET version = excluded.version, hash = excluded.hash, "
                "params = excluded.params, received_ms = excluded.received_ms");
            if (!st) return st.error();
            return st->bind(1, in.version).bind(2, in.hash).bind(3, in.params.dump()).bind(4, clock_.wall_ms()).run();
        });
        if (!done) return done.error();
    }
    if (replaced) log::info("config.pending_replaced", {{"version", in.version}});
    std::lock_guard lock(mu_);
    pending_ = true;
    return {};
}

std::optional<ConfigApplier::Incoming> ConfigApplier::load_pending() {
    std::lock_guard lock(db_mu_);
    auto st = db_.prepare("SELECT version, hash, params FROM config_pending WHERE one = 1");
    if (!st || !st->step()) return std::nullopt;
    Incoming in;
    in.version = st->integer(0);
    in.hash = st->text(1);
    in.params = nlohmann::json::parse(st->text(2), nullptr, false);
    in.mode = "standard";
    return in;
}

void ConfigApplier::clear_pending() {
    {
        std::lock_guard lock(db_mu_);
        if (auto st = db_.prepare("DELETE FROM config_pending"); st) (void)st->run();
    }
    std::lock_guard lock(mu_);
    pending_ = false;
}

void ConfigApplier::tick() {
    if (!pending() || !in_quiet_window(clock_.wall_now())) return;
    std::lock_guard one(apply_mu_);
    auto in = load_pending();
    if (!in) return;
    nlohmann::json outcome;
    const auto& catalog = params::Catalog::builtin();
    auto set = catalog ? params::ParamSet::validate(catalog.value(), in->params, "config v" + std::to_string(in->version))
                       : Result<params::ParamSet>(catalog.error());
    outcome = set ? apply_now(*in, set.value()) : refuse(*in, problem_lines(set.error().message));
    clear_pending();
    outcome["mode"] = "standard";
    if (events_) (void)events_->emit("config.applied", outcome);
}

}  // namespace hisgate::agent
