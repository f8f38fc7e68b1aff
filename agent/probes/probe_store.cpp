#include "agent/probes/probe_store.h"

namespace hisgate::agent::probes {

namespace {
const char* const kSchema = R"(
CREATE TABLE IF NOT EXISTS probe_last_good(
  path TEXT NOT NULL, operation TEXT NOT NULL, case_id TEXT NOT NULL,
  canonical TEXT NOT NULL, fingerprint TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY(path, operation, case_id));
CREATE TABLE IF NOT EXISTS probe_archived(
  path TEXT NOT NULL, operation TEXT NOT NULL, case_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY(path, operation, case_id));
CREATE TABLE IF NOT EXISTS probe_outcomes(
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, outcome TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS probe_outcomes_by_path ON probe_outcomes(path, at_ms);
)";

template <class T>
Result<T> step_error(sql::Statement& s, T fallback) {
    if (s.error()) return *s.error();
    return fallback;
}
}  // namespace

Result<ProbeStore> ProbeStore::open(const std::string& state_file) {
    auto db = sql::Db::open(state_file);
    if (!db) return db.error();
    if (auto r = db->exec(kSchema); !r) return r.error();
    return ProbeStore(std::move(db.value()));
}

Result<std::optional<ProbeStore::Answer>> ProbeStore::last_good(const std::string& path, Operation op,
                                                                const std::string& case_id) {
    auto s = db_.prepare(
        "SELECT canonical, fingerprint, at_ms FROM probe_last_good WHERE path = ? AND operation = ? AND case_id = ?");
    if (!s) return s.error();
    s->bind(1, path).bind(2, to_string(op)).bind(3, case_id);
    if (!s->step()) return step_error<std::optional<Answer>>(s.value(), std::nullopt);
    auto canonical = nlohmann::json::parse(s->text(0), nullptr, false);
    if (canonical.is_discarded())
        return make_error(ErrorClass::Internal, "probe.state_corrupt",
                          "the last good answer of probe " + path + " in the state file is not JSON");
    return std::optional<Answer>(Answer{std::move(canonical), s->text(1), s->integer(2)});
}

Result<void> ProbeStore::save_last_good(const std::string& path, Operation op, const std::string& case_id,
                                        const Answer& a) {
    auto s = db_.prepare(
        "INSERT INTO probe_last_good(path, operation, case_id, canonical, fingerprint, at_ms) VALUES(?,?,?,?,?,?) "
        "ON CONFLICT(path, operation, case_id) DO UPDATE SET canonical = excluded.canonical, "
        "fingerprint = excluded.fingerprint, at_ms = excluded.at_ms");
    if (!s) return s.error();
    return s->bind(1, path).bind(2, to_string(op)).bind(3, case_id).bind(4, a.canonical.dump())
        .bind(5, a.fingerprint).bind(6, a.at_ms).run();
}

Result<std::set<std::string>> ProbeStore::archived_cases(const std::string& path, Operation op) {
    auto s = db_.prepare("SELECT case_id FROM probe_archived WHERE path = ? AND operation = ?");
    if (!s) return s.error();
    s->bind(1, path).bind(2, to_string(op));
    std::set<std::string> out;
    while (s->step()) out.insert(s->text(0));
    return step_error(s.value(), out);
}

Result<void> ProbeStore::archive(const std::string& path, Operation op, const std::string& case_id, int64_t at_ms) {
    auto s = db_.prepare("INSERT OR IGNORE INTO probe_archived(path, operation, case_id, at_ms) VALUES(?,?,?,?)");
    if (!s) return s.error();
    return s->bind(1, path).bind(2, to_string(op)).bind(3, case_id).bind(4, at_ms).run();
}

Result<void> ProbeStore::record(const std::string& path, Outcome outcome, int64_t at_ms) {
    // The new outcome and the pruning of what fell out of the window: both or neither.
    return db_.transaction([&]() -> Result<void> {
        auto add = db_.prepare("INSERT INTO probe_outcomes(path, outcome, at_ms) VALUES(?,?,?)");
        if (!add) return add.error();
        if (auto r = add->bind(1, path).bind(2, to_string(outcome)).bind(3, at_ms).run(); !r) return r;
        auto prune = db_.prepare("DELETE FROM probe_outcomes WHERE path = ? AND at_ms <= ?");
        if (!prune) return prune.error();
        int64_t horizon = at_ms - std::chrono::duration_cast<std::chrono::milliseconds>(kOutcomeRetention).count();
        return prune->bind(1, path).bind(2, horizon).run();
    });
}

Result<Availability> ProbeStore::availability(const std::string& path, int64_t now_ms, std::chrono::milliseconds window) {
    auto s = db_.prepare(
        "SELECT outcome, count(*) FROM probe_outcomes WHERE path = ? AND at_ms > ? AND at_ms <= ? GROUP BY outcome");
    if (!s) return s.error();
    s->bind(1, path).bind(2, now_ms - window.count()).bind(3, now_ms);
    Availability a;
    while (s->step()) {
        auto outcome = outcome_from_string(s->text(0));
        int64_t n = s->integer(1);
        a.probes += n;
        // An outcome this build does not know is counted as a probe that did not answer.
        if (outcome && counts_as_available(*outcome)) a.available += n;
        if (outcome == Outcome::Changed) a.changed += n;
    }
    return step_error(s.value(), a);
}

}  // namespace hisgate::agent::probes
