// AuditLog on SQLite: one table, rows by an AUTOINCREMENT seq (never reused, even after
// the newest row would have gone: it cannot go), with triggers refusing UPDATE and DELETE.
// The targets are kept as one text of ids joined by '/', the path's own separator, which
// no id can hold.
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/audit/audit_log.h"

namespace hisgate::controlplane::audit {

namespace {

std::string join_targets(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : "/") + id;
    return out;
}

std::vector<std::string> split_targets(const std::string& text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = text.find('/', i);
        if (j == std::string::npos) j = text.size();
        out.push_back(text.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

class SqliteAuditLog final : public AuditLog {
public:
    explicit SqliteAuditLog(sql::Db db) : db_(std::move(db)) {}

    Result<int64_t> append(const AuditEntry& e) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "INSERT INTO audit_log(at_ms, who, role, method, route, path, targets, status, code, from_addr) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        if (!st) return st.error();
        st->bind(1, e.at_ms).bind(2, e.who).bind(3, e.role).bind(4, e.method).bind(5, e.route).bind(6, e.path);
        st->bind(7, join_targets(e.targets)).bind(8, int64_t{e.status}).bind(9, e.code).bind(10, e.from);
        if (auto done = st->run(); !done) return done.error();
        return db_.last_insert_rowid();
    }

    Result<std::vector<AuditEntry>> page(const AuditQuery& q) override {
        std::lock_guard lock(mu_);
        // One statement for every combination of filters: an absent filter binds a value
        // that makes its clause true.
        auto st = db_.prepare_cached(
            "SELECT seq, at_ms, who, role, method, route, path, targets, status, code, from_addr FROM audit_log "
            "WHERE (?1 = 0 OR seq < ?1) AND (?2 = '' OR who = ?2 OR substr(who, instr(who, ':') + 1) = ?2) "
            "AND (?3 = '' OR route = ?3) AND at_ms >= ?4 AND (?5 = 0 OR at_ms < ?5) ORDER BY seq DESC LIMIT ?6");
        if (!st) return st.error();
        st->bind(1, q.before_seq).bind(2, q.who).bind(3, q.route).bind(4, q.since_ms).bind(5, q.until_ms);
        st->bind(6, int64_t{q.limit});
        std::vector<AuditEntry> out;
        while (st->step()) {
            AuditEntry e;
            e.seq = st->integer(0);
            e.at_ms = st->integer(1);
            e.who = st->text(2);
            e.role = st->text(3);
            e.method = st->text(4);
            e.route = st->text(5);
            e.path = st->text(6);
            e.targets = split_targets(st->text(7));
            e.status = static_cast<int>(st->integer(8));
            e.code = st->text(9);
            e.from = st->text(10);
            out.push_back(std::move(e));
        }
        if (st->error()) return *st->error();
        st->reset();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> open_sqlite_audit_log(const std::string& path) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS audit_log(seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, "
         "who TEXT NOT NULL, role TEXT NOT NULL, method TEXT NOT NULL, route TEXT NOT NULL, path TEXT NOT NULL, "
         "targets TEXT NOT NULL, status INTEGER NOT NULL, code TEXT NOT NULL, from_addr TEXT NOT NULL)",
         "CREATE INDEX IF NOT EXISTS audit_log_who ON audit_log(who, seq)",
         "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at_ms)",
         // Append-only in the file: any UPDATE or DELETE of a row fails, whoever runs it.
         "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
         "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
         "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
         "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
         // INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers
         // (unless recursive_triggers is on): an insert onto a taken seq is refused too.
         "CREATE TRIGGER IF NOT EXISTS audit_log_no_replace BEFORE INSERT ON audit_log "
         "WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
         "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"});
    if (!db) return db.error();
    return std::unique_ptr<AuditLog>(new SqliteAuditLog(std::move(db.value())));
}

}  // namespace hisgate::controlplane::audit
