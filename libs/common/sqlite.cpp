#include "common/sqlite.h"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace hisgate::sql {

namespace {
Error sqlite_error(sqlite3* db, std::string_view what) {
    return make_error(ErrorClass::Internal, "sqlite.error", std::string(what) + ": " + sqlite3_errmsg(db));
}
}  // namespace

Result<Db> Db::open(const std::string& path, bool serialized) {
    // Allocation statistics take a global mutex on every SQLite malloc; nothing reads
    // them. Must run before SQLite initialises, so before the first connection.
    static const int no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)no_memstatus;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 (serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX),
                             nullptr);
    Db db(raw);
    db.path_ = path;
    if (rc != SQLITE_OK)
        return make_error(ErrorClass::Config, "sqlite.open_failed",
                          "cannot open database " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    if (auto wal = db.enter_wal(); !wal) return wal.error();
    for (auto pragma : {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
        if (auto r = db.exec(pragma); !r) return r.error();
    return db;
}

Result<void> Db::enter_wal() {
    // The switch of a new file to WAL takes an exclusive lock and does not wait for it: beside
    // another process opening the same new file it fails at once ("database is locked"), or
    // answers the old mode. So it is tried again, briefly, for as long as a busy statement
    // would wait; once one process has switched the file, every later switch is a no-op.
    std::string last;
    for (int waited_ms = 0;; waited_ms += kWalRetryMs) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
        if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
        std::string mode = rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) : "";
        last = rc == SQLITE_ROW ? "journal mode \"" + mode + "\"" : sqlite3_errmsg(db_);
        sqlite3_finalize(stmt);
        if (mode == "wal" || mode == "memory") return {};  // ":memory:" has no WAL, nor needs one
        bool busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_ROW;
        if (!busy || waited_ms >= kBusyTimeoutMs)
            return make_error(ErrorClass::Internal, "sqlite.error", "in " + path_ + ": cannot enter WAL mode: " + last);
        sqlite3_sleep(kWalRetryMs);
    }
}

Result<Db> Db::open_with_schema(const std::string& path, std::initializer_list<std::string_view> schema) {
    return open_with_schema(path, std::vector<std::string_view>(schema));
}

Result<Db> Db::open_with_schema(const std::string& path, const std::vector<std::string_view>& schema) {
    auto db = open(path);
    if (!db) return db.error();
    if (auto made = db->make_schema(schema); !made) return made.error();
    return db;
}

Result<void> Db::make_schema(const std::vector<std::string_view>& schema) {
    // In one write transaction, taken at BEGIN: a statement that reads the schema first and
    // then writes would, beside another process doing the same on the same file (two
    // control-plane instances starting on one results_db), fail with "database is locked"
    // at once instead of waiting its turn (a WAL snapshot cannot be upgraded).
    return transaction([&]() -> Result<void> {
        for (auto statement : schema)
            if (auto r = exec(statement); !r) return r.error();
        return {};
    });
}

// The statements prepare_cached() keeps, by their SQL; each with whether it is out now.
struct Db::Cache {
    struct Entry {
        sqlite3_stmt* stmt = nullptr;
        std::atomic<bool> lent{false};
    };
    std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<Entry>> by_sql;  // entries never move
};

Db::Db(sqlite3* db) : db_(db), cache_(std::make_unique<Cache>()) {}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)), cache_(std::move(other.cache_)) {}
Db& Db::operator=(Db&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
        cache_ = std::move(other.cache_);
    }
    return *this;
}
Db::~Db() { close(); }

void Db::close() {
    if (cache_)
        for (auto& [_, entry] : cache_->by_sql) sqlite3_finalize(entry->stmt);
    cache_.reset();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

Result<void> Db::exec(std::string_view sql) {
    char* msg = nullptr;
    std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string err = msg ? msg : "unknown error";
        sqlite3_free(msg);
        return make_error(ErrorClass::Internal, "sqlite.error", "in " + path_ + ": " + err);
    }
    return {};
}

Result<Statement> Db::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
        return sqlite_error(db_, "prepare failed");
    return Statement(db_, stmt);
}

Result<Statement> Db::prepare_cached(std::string_view sql) {
    Cache::Entry* entry = nullptr;
    {
        std::lock_guard lock(cache_->mu);
        auto& slot = cache_->by_sql[std::string(sql)];
        if (!slot) slot = std::make_unique<Cache::Entry>();
        entry = slot.get();
    }
    if (entry->lent.exchange(true)) return prepare(sql);  // out already: a fresh one
    if (!entry->stmt && sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &entry->stmt, nullptr) != SQLITE_OK) {
        entry->stmt = nullptr;
        entry->lent = false;
        return sqlite_error(db_, "prepare failed");
    }
    return Statement(db_, entry->stmt, &entry->lent);
}

Result<void> Db::savepoint(const std::function<Result<void>()>& body) {
    if (auto r = exec("SAVEPOINT change"); !r) return r;
    auto outcome = body();
    if (outcome) return exec("RELEASE change");
    if (!in_transaction()) return outcome;  // SQLite rolled everything back: nothing to undo here
    auto undone = exec("ROLLBACK TO change");
    if (undone) undone = exec("RELEASE change");
    if (!undone) return abandon_transaction(outcome.error());  // cannot undo the part: undo the whole
    return outcome;
}

Error Db::transaction_error(const char* step, const Error& e) {
    return make_error(e.cls, "sqlite.transaction", std::string(step) + " failed: " + e.message);
}

Error Db::abandon_transaction(Error why) {
    if (!in_transaction()) return why;
    if (auto r = exec("ROLLBACK"); !r) why.message += "; and the rollback failed: " + r.error().message;
    return why;
}

int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), lent_(std::exchange(o.lent_, nullptr)),
      error_(std::move(o.error_)) {}
Statement& Statement::operator=(Statement&& o) noexcept {
    if (this != &o) {
        release();
        db_ = o.db_;
        stmt_ = std::exchange(o.stmt_, nullptr);
        lent_ = std::exchange(o.lent_, nullptr);
        error_ = std::move(o.error_);
    }
    return *this;
}
Statement::~Statement() { release(); }

void Statement::release() {
    if (!stmt_) return;
    if (lent_) {
        // Back to the cache as prepare() would hand it out: no row pending, no value bound.
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        lent_->store(false);
    } else {
        sqlite3_finalize(stmt_);
    }
    stmt_ = nullptr;
    lent_ = nullptr;
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
}
Statement& Statement::bind_real(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
}
Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) error_ = sqlite_error(db_, "step failed");
    return false;
}

Result<void> Statement::run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
    if (error_) {
        Error e = *error_;
        error_.reset();
        return e;
    }
    return {};
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    error_.reset();
}

std::string Statement::text(int column) const {
    auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column)) : std::string();
}
int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

}  // namespace hisgate::sql
