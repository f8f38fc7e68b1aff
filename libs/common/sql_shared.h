// One SQLite connection that several stores share. Stores on one file that each keep a
// connection of their own pay for it on every request: each commit on one connection makes
// every other one drop its page cache and read the pages again at its next statement (WAL
// frames, by pread), and their writes cannot be one transaction. Stores opened on one
// SharedDb (e.g. TaskResults, PatientRecords and PatientLinks on the control plane's
// results_db) read through one cache, and a group commit (common/group_commit.h) can
// write what several of them change as one BEGIN ... COMMIT.
//
// Invariant: every use of db() holds mutex() from before its first statement to after its
// last (a transaction: from BEGIN to COMMIT), so no thread's statements land in another
// thread's open transaction or read what it has not committed. The mutex is recursive:
// a store's method called inside a transaction held by its thread (a group commit writing
// through the stores' own methods) joins that transaction; Db::transaction() nests as a
// savepoint there.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/sqlite.h"

namespace hisgate::sql {

class SharedDb {
public:
    // Opens (creating if needed) `path` as Db::open does, serialized.
    static Result<std::shared_ptr<SharedDb>> open(const std::string& path) {
        auto db = Db::open(path);
        if (!db) return db.error();
        return std::shared_ptr<SharedDb>(new SharedDb(std::move(db.value())));
    }
    Db& db() { return db_; }
    std::recursive_mutex& mutex() { return mu_; }

    // Runs `body` as one transaction (Db::transaction) holding the connection throughout.
    template <class Body>
    auto transaction(Body&& body) -> decltype(body()) {
        std::lock_guard lock(mu_);
        return db_.transaction(std::forward<Body>(body));
    }

private:
    explicit SharedDb(Db db) : db_(std::move(db)) {}
    std::recursive_mutex mu_;
    Db db_;
};

}  // namespace hisgate::sql
