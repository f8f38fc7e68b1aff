// ErrorBook on SQLite: one table of groups; a group is open while resolved_ms is NULL and
// its last occurrence is within the quiet period.
#include <mutex>
#include <set>

#include "common/log.h"
#include "common/metrics.h"
#include "common/sqlite.h"
#include "controlplane/triage/error_book.h"

namespace hisgate::controlplane::triage {

namespace {
constexpr int64_t kSettleEveryMs = 1000;
constexpr int kMaxNeighbours = 1000;  // groups routed again after one occurrence, at most

metrics::Counter& booked(const std::string& owner) {
    return metrics::global().counter("hisgate_triage_errors_total", "Errors booked for triage, by owning team",
                                     {{"owner", owner}});
}
metrics::Counter& not_booked(const char* why) {
    return metrics::global().counter("hisgate_triage_not_booked_total",
                                     "Errors triage did not book: a rule says they are business outcomes, or the book is full",
                                     {{"reason", why}});
}

Source source_from(const std::string& s) {
    return s == "router" ? Source::Router : s == "event" ? Source::Event : s == "reconcile" ? Source::Reconcile : Source::Answer;
}

class SqliteErrorBook;

// What the book holds around one occurrence, and the occurrence itself before it is booked.
class BookNeighbourhood final : public Neighbourhood {
public:
    BookNeighbourhood(sql::Db& db, int64_t since_ms, const ErrorRecord* pending)
        : db_(db), since_ms_(since_ms), pending_(pending) {}

    std::vector<std::string> codes_at(const std::string& hospital) override {
        std::set<std::string> codes;
        if (pending_ && pending_->tags.hospital == hospital) codes.insert(pending_->code);
        auto q = db_.prepare("SELECT DISTINCT code FROM triage_errors WHERE resolved_ms IS NULL AND hospital = ?1 "
                             "AND last_ms >= ?2 LIMIT 10000");
        if (!q) return {codes.begin(), codes.end()};
        q->bind(1, hospital).bind(2, since_ms_);
        while (q->step()) codes.insert(q->text(0));
        return {codes.begin(), codes.end()};
    }

    Spread spread_of(const std::string& code, const std::string& hospital, const std::string& version) override {
        std::set<std::string> hospitals, dialects, paths;
        if (pending_ && pending_->code == code && (version.empty() || pending_->tags.version == version)) {
            if (!pending_->tags.hospital.empty()) hospitals.insert(pending_->tags.hospital);
            if (!pending_->tags.dialect.empty()) dialects.insert(pending_->tags.dialect);
            if (pending_->tags.hospital == hospital) paths.insert(pending_->tags.path);
        }
        auto q = db_.prepare("SELECT hospital, dialect, path FROM triage_errors WHERE resolved_ms IS NULL AND code = ?1 "
                             "AND last_ms >= ?2 AND (?3 = '' OR version = ?3) LIMIT 10000");
        if (q) {
            q->bind(1, code).bind(2, since_ms_).bind(3, version);
            while (q->step()) {
                if (!q->text(0).empty()) hospitals.insert(q->text(0));
                if (!q->text(1).empty()) dialects.insert(q->text(1));
                if (q->text(0) == hospital) paths.insert(q->text(2));
            }
        }
        return {static_cast<int>(hospitals.size()), static_cast<int>(dialects.size()), static_cast<int>(paths.size())};
    }

private:
    sql::Db& db_;
    int64_t since_ms_;
    const ErrorRecord* pending_;
};

constexpr const char* kColumns =
    "id, owner, rule, cls, code, hospital, path, dialect, version, region, source, count, first_ms, last_ms, "
    "sample_trace, resolved_ms";

struct Row {
    int64_t id = 0;
    ErrorGroup group;
    Source source = Source::Answer;
};

Row read_row(const sql::Statement& s) {
    Row r;
    r.id = s.integer(0);
    r.group.owner = s.text(1);
    r.group.rule = s.text(2);
    r.group.cls = error_class_from_string(s.text(3));
    r.group.code = s.text(4);
    r.group.tags = {s.text(5), s.text(7), s.text(6), s.text(8), s.text(9)};
    r.source = source_from(s.text(10));
    r.group.count = s.integer(11);
    r.group.first_ms = s.integer(12);
    r.group.last_ms = s.integer(13);
    r.group.sample_trace_id = s.text(14);
    r.group.resolved = !s.is_null(15);
    return r;
}

class SqliteErrorBook final : public ErrorBook {
public:
    SqliteErrorBook(sql::Db db, OwnerRules rules, Clock& clock, BookSettings settings, int64_t groups)
        : db_(std::move(db)), rules_(std::move(rules)), clock_(clock), settings_(settings), groups_(groups) {}

    Result<Routing> record(const ErrorRecord& r) override {
        if (auto bad = out_of_bounds(r)) return *bad;
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        if (now - last_settle_ms_ >= kSettleEveryMs || now < last_settle_ms_)
            if (auto s = settle_locked(now); !s) log::error("triage.settle_failed", {{"error", s.error().describe()}});
        const int64_t open_since = now - settings_.quiet.count();
        const int64_t window_since = std::max(open_since, now - static_cast<int64_t>(rules_.window().count()) * 1000);
        return db_.transaction([&]() -> Result<Routing> {
            BookNeighbourhood around(db_, window_since, &r);
            Routing routing = rules_.route(r, &around);
            if (!routing.book) {
                not_booked("business").inc();
                return routing;
            }
            auto found = db_.prepare("SELECT id, sample_trace FROM triage_errors WHERE resolved_ms IS NULL AND cls = ?1 "
                                     "AND code = ?2 AND hospital = ?3 AND path = ?4 AND last_ms >= ?5 LIMIT 1");
            if (!found) return found.error();
            found->bind(1, to_string(r.cls)).bind(2, r.code).bind(3, r.tags.hospital).bind(4, r.tags.path).bind(5, open_since);
            if (found->step()) {
                const int64_t id = found->integer(0);
                const bool has_trace = !found->text(1).empty();
                auto up = db_.prepare("UPDATE triage_errors SET owner = ?1, rule = ?2, dialect = ?3, version = ?4, "
                                      "region = ?5, count = count + 1, last_ms = max(last_ms, ?6), sample_trace = ?7 "
                                      "WHERE id = ?8");
                if (!up) return up.error();
                up->bind(1, routing.owner).bind(2, routing.rule).bind(3, r.tags.dialect).bind(4, r.tags.version)
                    .bind(5, r.tags.region).bind(6, now).bind(7, has_trace ? found->text(1) : r.trace_id).bind(8, id);
                if (auto done = up->run(); !done) return done.error();
            } else if (found->error()) {
                return *found->error();
            } else {
                if (groups_ >= settings_.max_groups) {
                    not_booked("full").inc();
                    log::warn("triage.book_full", {{"code", r.code}, {"max_groups", settings_.max_groups}});
                    return make_error(ErrorClass::Unavailable, "triage.book_full",
                                      "the error book holds its maximum of " + std::to_string(settings_.max_groups) +
                                          " groups; the error was counted, not booked");
                }
                auto add = db_.prepare(
                    "INSERT INTO triage_errors(owner, rule, cls, code, hospital, path, dialect, version, region, source, "
                    "count, first_ms, last_ms, sample_trace) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11, ?12)");
                if (!add) return add.error();
                add->bind(1, routing.owner).bind(2, routing.rule).bind(3, to_string(r.cls)).bind(4, r.code)
                    .bind(5, r.tags.hospital).bind(6, r.tags.path).bind(7, r.tags.dialect).bind(8, r.tags.version)
                    .bind(9, r.tags.region).bind(10, to_string(r.source)).bind(11, now).bind(12, r.trace_id);
                if (auto done = add->run(); !done) return done.error();
                ++groups_;
            }
            booked(routing.owner).inc();
            if (rules_.looks_around())
                if (auto again = route_neighbours(r, window_since); !again) return again.error();
            return routing;
        });
    }

    Result<std::vector<ErrorGroup>> open_groups(const TriageQuery& q) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        if (auto s = settle_locked(now); !s) return s.error();
        auto list = db_.prepare(std::string("SELECT ") + kColumns +
                                " FROM triage_errors WHERE resolved_ms IS NULL AND last_ms >= ?1 AND (?2 = '' OR owner = ?2) "
                                "ORDER BY owner, count DESC, last_ms DESC LIMIT ?3");
        if (!list) return list.error();
        list->bind(1, std::max(q.since_ms, now - static_cast<int64_t>(settings_.quiet.count())))
            .bind(2, q.owner)
            .bind(3, q.limit);
        std::vector<ErrorGroup> out;
        while (list->step()) out.push_back(read_row(*list).group);
        if (list->error()) return *list->error();
        return out;
    }

    Result<int> settle() override {
        std::lock_guard lock(mu_);
        return settle_locked(clock_.wall_ms());
    }

private:
    Result<int> settle_locked(int64_t now) {
        last_settle_ms_ = now;
        return db_.transaction([&]() -> Result<int> {
            auto quiet = db_.prepare("UPDATE triage_errors SET resolved_ms = last_ms + ?1 WHERE resolved_ms IS NULL "
                                     "AND last_ms < ?2");
            if (!quiet) return quiet.error();
            quiet->bind(1, static_cast<int64_t>(settings_.quiet.count())).bind(2, now - settings_.quiet.count());
            if (auto r = quiet->run(); !r) return r.error();
            int changed = sqlite3_changes(db_.handle());
            auto old = db_.prepare("DELETE FROM triage_errors WHERE resolved_ms IS NOT NULL AND resolved_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - static_cast<int64_t>(settings_.keep_resolved.count()));
            if (auto r = old->run(); !r) return r.error();
            int removed = sqlite3_changes(db_.handle());
            if (removed > 0) {
                auto count = db_.prepare("SELECT count(*) FROM triage_errors");
                if (!count) return count.error();
                if (count->step()) groups_ = count->integer(0);
            }
            return changed + removed;
        });
    }

    // Routes again the open groups of the window at r's hospital or with r's code.
    Result<void> route_neighbours(const ErrorRecord& r, int64_t window_since) {
        auto near = db_.prepare(std::string("SELECT ") + kColumns +
                                " FROM triage_errors WHERE resolved_ms IS NULL AND last_ms >= ?1 AND "
                                "(hospital = ?2 OR code = ?3) LIMIT ?4");
        if (!near) return near.error();
        near->bind(1, window_since).bind(2, r.tags.hospital).bind(3, r.code).bind(4, int64_t{kMaxNeighbours});
        std::vector<Row> rows;
        while (near->step()) rows.push_back(read_row(*near));
        if (near->error()) return *near->error();
        BookNeighbourhood around(db_, window_since, nullptr);
        for (const auto& row : rows) {
            ErrorRecord as{row.group.cls, row.group.code, row.group.tags, row.source, ""};
            Routing routing = rules_.route(as, &around);
            if (!routing.book || (routing.owner == row.group.owner && routing.rule == row.group.rule)) continue;
            auto up = db_.prepare("UPDATE triage_errors SET owner = ?1, rule = ?2 WHERE id = ?3");
            if (!up) return up.error();
            up->bind(1, routing.owner).bind(2, routing.rule).bind(3, row.id);
            if (auto done = up->run(); !done) return done.error();
        }
        return {};
    }

    std::mutex mu_;
    sql::Db db_;
    const OwnerRules rules_;
    Clock& clock_;
    const BookSettings settings_;
    int64_t groups_ = 0;
    int64_t last_settle_ms_ = 0;
};
}  // namespace

Result<std::unique_ptr<ErrorBook>> open_sqlite_error_book(const std::string& path, OwnerRules rules, Clock& clock,
                                                          BookSettings settings) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS triage_errors(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, rule TEXT NOT NULL, "
         "cls TEXT NOT NULL, code TEXT NOT NULL, hospital TEXT NOT NULL, path TEXT NOT NULL, dialect TEXT NOT NULL, "
         "version TEXT NOT NULL, region TEXT NOT NULL, source TEXT NOT NULL, count INTEGER NOT NULL, "
         "first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, sample_trace TEXT NOT NULL, resolved_ms INTEGER)",
         "CREATE INDEX IF NOT EXISTS triage_errors_key ON triage_errors(code, hospital, path) WHERE resolved_ms IS NULL",
         "CREATE INDEX IF NOT EXISTS triage_errors_hospital ON triage_errors(hospital, last_ms) WHERE resolved_ms IS NULL",
         "CREATE INDEX IF NOT EXISTS triage_errors_owner ON triage_errors(owner, last_ms) WHERE resolved_ms IS NULL",
         "CREATE INDEX IF NOT EXISTS triage_errors_last ON triage_errors(last_ms) WHERE resolved_ms IS NULL",
         "CREATE INDEX IF NOT EXISTS triage_errors_resolved ON triage_errors(resolved_ms)"});
    if (!db) return db.error();
    auto count = db->prepare("SELECT count(*) FROM triage_errors");
    if (!count) return count.error();
    int64_t groups = count->step() ? count->integer(0) : 0;
    return std::unique_ptr<ErrorBook>(new SqliteErrorBook(std::move(db.value()), std::move(rules), clock, settings, groups));
}

}  // namespace hisgate::controlplane::triage
