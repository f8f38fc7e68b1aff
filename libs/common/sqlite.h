// A thin RAII layer over SQLite: prepared statements only (values are always bound, never
// spliced into SQL), WAL mode, and errors as values.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::sql {

class Statement;

class Db {
public:
    // Opens (creating if needed) a database file in WAL mode with a busy timeout.
    // `serialized`: SQLite locks the connection on every call, so threads may share it.
    // Pass false only for a connection that one thread at a time uses (it saves a mutex
    // round trip per call).
    static Result<Db> open(const std::string& path, bool serialized = true);
    // Opens as open() does (serialized), then runs `schema` in order, in one transaction: the
    // store's CREATE ... IF NOT EXISTS statements, so a new file gets them all and an old one
    // keeps its data, whichever of several processes opening the file at once comes first.
    static Result<Db> open_with_schema(const std::string& path, std::initializer_list<std::string_view> schema);
    static Result<Db> open_with_schema(const std::string& path, const std::vector<std::string_view>& schema);
    // Runs `schema` as open_with_schema() does, on this connection (one opened by open()).
    Result<void> make_schema(const std::vector<std::string_view>& schema);
    Db(Db&& other) noexcept;
    Db& operator=(Db&& other) noexcept;
    ~Db();

    // Runs SQL with no parameters and no results (schema, pragmas, BEGIN/COMMIT).
    Result<void> exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);
    // The same as prepare(), but the compiled statement is kept by this connection and
    // handed out again (parsing and planning a statement cost a request more than running
    // it, on the control plane's request path). The Statement returned gives it back,
    // reset and without bindings, when it is destroyed. While it is out, another call
    // with the same SQL (another thread, or a nested use) gets a fresh one of its own.
    Result<Statement> prepare_cached(std::string_view sql);
    int64_t last_insert_rowid() const;
    // False once SQLite has ended the transaction by itself: a statement failing with
    // SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM or RAISE(ROLLBACK) rolls the whole
    // transaction back, not just the statement, and what follows would run in autocommit.
    bool in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }

    // Runs `body` (returning a Result) as one transaction, BEGIN IMMEDIATE to COMMIT: all
    // of it or nothing. If `body` or the COMMIT fails, everything is rolled back and the
    // error returned: body's own, or code "sqlite.transaction" when BEGIN or COMMIT failed.
    // The one way this code base writes more than one row at a time.
    // Called inside an open transaction (a group commit's: common/sql_shared.h), `body`
    // runs under a savepoint instead: all of it or none of it, durable with the outer
    // COMMIT. If SQLite ended the outer transaction meanwhile (in_transaction() false
    // afterwards), the caller must not go on.
    template <class Body>
    auto transaction(Body&& body) -> decltype(body());
    // Runs `body` under a savepoint inside the open transaction: if it fails, what it
    // wrote is undone and the transaction goes on without it. If SQLite ended the whole
    // transaction meanwhile (in_transaction() is false), the caller must not go on.
    Result<void> savepoint(const std::function<Result<void>()>& body);
    // Rolls back the open transaction, if SQLite has not already; returns `why`, with
    // the rollback's own failure added to it.
    Error abandon_transaction(Error why);
    sqlite3* handle() const { return db_; }

private:
    static constexpr int kBusyTimeoutMs = 5000;  // how long a statement waits for a lock
    static constexpr int kWalRetryMs = 10;
    struct Cache;
    explicit Db(sqlite3* db);
    void close();
    Result<void> enter_wal();
    // A failed BEGIN or COMMIT as transaction() reports it.
    static Error transaction_error(const char* step, const Error& e);
    sqlite3* db_ = nullptr;
    std::string path_;
    std::unique_ptr<Cache> cache_;
};

class Statement {
public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    ~Statement();

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, int64_t value);
    Statement& bind_null(int index);
    // A REAL value (named apart from bind(): an int literal would match both overloads).
    Statement& bind_real(int index, double value);

    // True while a row is available; false when done. Errors are reported through error().
    bool step();
    Result<void> run();  // step to completion, expecting no rows
    void reset();
    const std::optional<Error>& error() const { return error_; }

    std::string text(int column) const;
    int64_t integer(int column) const;
    double real(int column) const;
    bool is_null(int column) const;

private:
    friend class Db;
    Statement(sqlite3* db, sqlite3_stmt* stmt, std::atomic<bool>* lent = nullptr) : db_(db), stmt_(stmt), lent_(lent) {}
    void release();  // finalizes it, or gives a cached one back
    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::atomic<bool>* lent_ = nullptr;  // a cached statement's "out" flag (Db::prepare_cached)
    std::optional<Error> error_;
};

template <class Body>
auto Db::transaction(Body&& body) -> decltype(body()) {
    if (in_transaction()) {
        std::optional<decltype(body())> kept;
        auto done = savepoint([&]() -> Result<void> {
            auto outcome = body();
            if (!outcome) return outcome.error();
            kept.emplace(std::move(outcome));
            return {};
        });
        if (!done) return done.error();
        return std::move(*kept);
    }
    if (auto began = exec("BEGIN IMMEDIATE"); !began) return transaction_error("BEGIN", began.error());
    auto outcome = body();
    if (outcome) {
        auto committed = exec("COMMIT");
        if (committed) return outcome;
        return abandon_transaction(transaction_error("COMMIT", committed.error()));
    }
    return abandon_transaction(outcome.error());
}

}  // namespace hisgate::sql
