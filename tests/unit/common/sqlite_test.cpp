#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/sql_shared.h"
#include "common/sqlite.h"
#include "tests/support/process.h"

using namespace hisgate;

TEST_CASE("sqlite: a real WAL file, values bound and never spliced") {
    std::string dir = test::make_temp_dir("sql");
    auto db = sql::Db::open(dir + "/t.db");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").ok());
    auto ins = db->prepare("INSERT INTO t(k, v) VALUES(?, ?)");
    REQUIRE(ins.ok());
    std::string hostile = "x'); DROP TABLE t; --";
    REQUIRE(ins->bind(1, hostile).bind(2, int64_t{7}).run().ok());
    auto dup = ins->bind(1, hostile).bind(2, int64_t{8}).run();
    CHECK_FALSE(dup.ok());  // primary key violation surfaces as an error value
    auto sel = db->prepare("SELECT v FROM t WHERE k = ?");
    REQUIRE(sel.ok());
    REQUIRE(sel->bind(1, hostile).step());
    CHECK(sel->integer(0) == 7);
    auto mode = db->prepare("PRAGMA journal_mode");
    REQUIRE(mode->step());
    CHECK(mode->text(0) == "wal");
}

// Several processes opening one file at once (two control-plane instances on one
// results_db): each store's schema goes in whichever comes first, and no open fails with
// "database is locked" (a statement that reads the schema and then writes cannot wait for
// the write lock in WAL mode; the schema's own transaction, taken at BEGIN, can).
TEST_CASE("sqlite: stores opened at once on one new file all get their schema") {
    constexpr int kOpeners = 6, kStores = 8;
    for (int round = 0; round < 10; ++round) {
        std::string dir = test::make_temp_dir("sql-race");
        const std::string file = dir + "/shared.db";
        std::vector<std::thread> openers;
        std::atomic<int> failed{0};
        std::string first_error;
        std::mutex mu;
        std::atomic<int> ready{0};
        for (int t = 0; t < kOpeners; ++t)
            openers.emplace_back([&, t] {
                // All start together: the race is the point.
                ready++;
                while (ready < kOpeners) std::this_thread::yield();
                for (int store = 0; store < kStores; ++store) {
                    // Each opener its own tables, and one all of them share.
                    std::string mine = "CREATE TABLE IF NOT EXISTS s" + std::to_string(t) + "_" + std::to_string(store) +
                                       "(k TEXT PRIMARY KEY, v INTEGER NOT NULL)";
                    auto db = sql::Db::open_with_schema(
                        file, {mine, "CREATE TABLE IF NOT EXISTS common(k TEXT PRIMARY KEY)",
                               "CREATE INDEX IF NOT EXISTS common_k ON common(k)"});
                    if (!db) {
                        std::lock_guard lock(mu);
                        if (failed++ == 0) first_error = db.error().describe();
                    }
                }
            });
        for (auto& t : openers) t.join();
        INFO(first_error);
        CHECK(failed == 0);
        auto db = sql::Db::open(file);
        REQUIRE(db.ok());
        auto tables = db->prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
        REQUIRE(tables->step());
        CHECK(tables->integer(0) == kOpeners * kStores + 1);
        std::system(("rm -rf " + dir).c_str());
    }
}

TEST_CASE("sqlite: a cached statement comes back reset, unbound, and is never shared while out") {
    std::string dir = test::make_temp_dir("sql");
    auto db = sql::Db::open(dir + "/t.db");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").ok());
    for (int i = 0; i < 3; ++i) {
        auto ins = db->prepare_cached("INSERT INTO t(k, v) VALUES(?1, ?2)");
        REQUIRE(ins.ok());
        REQUIRE(ins->bind(1, "k" + std::to_string(i)).bind(2, int64_t{i}).run().ok());
    }
    const char* kSelect = "SELECT v FROM t WHERE k = ?1";
    {
        // A row left pending: giving the statement back resets it (no read stays open).
        auto sel = db->prepare_cached(kSelect);
        REQUIRE(sel->bind(1, "k2").step());
        CHECK(sel->integer(0) == 2);
        // The same SQL while the first is out: another statement, its own binding and row.
        auto nested = db->prepare_cached(kSelect);
        REQUIRE(nested.ok());
        REQUIRE(nested->bind(1, "k1").step());
        CHECK(nested->integer(0) == 1);
        CHECK(sel->integer(0) == 2);
    }
    {
        // Given back unbound: an unbound parameter is NULL, which matches no key.
        auto again = db->prepare_cached(kSelect);
        REQUIRE(again.ok());
        CHECK_FALSE(again->step());
        CHECK_FALSE(again->error());
    }
    REQUIRE(db->exec("INSERT INTO t(k, v) VALUES('w', 9)").ok());  // a writer after the pending read was given back
    auto moved = std::move(db.value());  // the cache moves with its connection
    auto sel = moved.prepare_cached(kSelect);
    REQUIRE(sel->bind(1, "w").step());
    CHECK(sel->integer(0) == 9);
    CHECK_FALSE(moved.prepare_cached("SELECT nope FROM nowhere").ok());
    CHECK_FALSE(moved.prepare_cached("SELECT nope FROM nowhere").ok());  // a failed one is not kept
}

// A group commit writes several stores' changes in one transaction, each store's own
// transaction() inside it (common/sql_shared.h): a nested one is a savepoint, so a store's
// failed change undoes itself only, and nothing is durable before the outer COMMIT.
TEST_CASE("sqlite: a transaction inside a transaction is a savepoint, durable with the outer one") {
    std::string dir = test::make_temp_dir("sql");
    auto shared = sql::SharedDb::open(dir + "/t.db");
    REQUIRE(shared.ok());
    auto& db = (*shared)->db();
    REQUIRE(db.exec("CREATE TABLE t(k TEXT PRIMARY KEY)").ok());
    auto other = sql::Db::open(dir + "/t.db");  // another store's (or instance's) connection
    REQUIRE(other.ok());
    auto count = [&](sql::Db& on) {
        auto st = on.prepare("SELECT count(*) FROM t");
        REQUIRE(st->step());
        return st->integer(0);
    };
    auto insert = [&](const char* k) {
        auto st = db.prepare("INSERT INTO t(k) VALUES(?1)");
        st->bind(1, k);
        return st->run();
    };
    auto outer = (*shared)->transaction([&]() -> Result<void> {
        auto kept = db.transaction([&]() -> Result<int> {
            if (auto r = insert("a"); !r) return r.error();
            return 1;
        });
        REQUIRE(kept.ok());
        CHECK(*kept == 1);
        auto refused = db.transaction([&]() -> Result<void> {
            if (auto r = insert("b"); !r) return r.error();
            return insert("a");  // a duplicate: this nested change fails as a whole, "b" too
        });
        CHECK_FALSE(refused.ok());
        CHECK(db.in_transaction());
        CHECK(count(db) == 1);
        CHECK(count(*other) == 0);  // not durable before the outer COMMIT
        return {};
    });
    REQUIRE(outer.ok());
    CHECK(count(*other) == 1);
}
