#include <catch2/catch.hpp>

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
