// The operator audit log's store (issue 17 item 2) on a real SQLite file: append, newest-first
// pages with the fleet's cursor, filters, the triggers that keep it append-only, reopening;
// and the pieces the API's dispatch records with (caller address, target ids).
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "controlplane/api.h"
#include "controlplane/audit/audit_api.h"
#include "controlplane/audit/audit_log.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {
struct AuditFile {
    std::string dir = test::make_temp_dir("hisgate-audit");
    std::string path = dir + "/results.db";
    std::unique_ptr<audit::AuditLog> log;
    AuditFile() { reopen(); }
    ~AuditFile() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        log.reset();
        auto opened = audit::open_sqlite_audit_log(path);
        REQUIRE(opened.ok());
        log = std::move(opened.value());
    }
    int64_t add(const std::string& who, const std::string& route, int64_t at_ms, int status = 200,
                const std::string& code = "") {
        audit::AuditEntry e;
        e.at_ms = at_ms;
        e.who = who;
        e.role = who.substr(0, who.find(':'));
        e.method = "POST";
        e.route = route;
        e.path = "/api/v1/rollouts/R" + std::to_string(at_ms) + "/pause";
        e.targets = {"R" + std::to_string(at_ms)};
        e.status = status;
        e.code = code;
        e.from = "127.0.0.1";
        auto seq = log->append(e);
        REQUIRE(seq.ok());
        return *seq;
    }
    nlohmann::json page(const std::string& query) {
        auto p = audit::audit_page(*log, query);
        INFO(query);
        REQUIRE(p.ok());
        return p.value();
    }
};
}  // namespace

TEST_CASE("audit log: appends, pages newest first by cursor, filters, and keeps everything across a reopen") {
    AuditFile f;
    for (int i = 1; i <= 5; ++i) f.add("operator:alice", "rollout_pause", 1000 * i);
    f.add("viewer:bob", "flags_put", 6000, 403, "auth.forbidden");
    f.add("admin:carol", "console_session", 7000);

    auto first = f.page("limit=3");
    REQUIRE(first["entries"].size() == 3);
    CHECK(first["entries"][0]["who"] == "admin:carol");
    CHECK(first["entries"][1]["status"] == 403);
    CHECK(first["entries"][1]["code"] == "auth.forbidden");
    CHECK(first["entries"][0]["code"].is_null());
    CHECK(first["entries"][2]["targets"] == nlohmann::json::array({"R5000"}));
    REQUIRE(first.contains("nextCursor"));
    auto second = f.page("limit=3&cursor=" + first["nextCursor"].get<std::string>());
    REQUIRE(second["entries"].size() == 3);
    CHECK(second["entries"][0]["atMs"] == 4000);
    auto last = f.page("limit=3&cursor=" + second["nextCursor"].get<std::string>());
    CHECK(last["entries"].size() == 1);
    CHECK_FALSE(last.contains("nextCursor"));

    CHECK(f.page("who=bob")["entries"].size() == 1);
    CHECK(f.page("who=operator:alice")["entries"].size() == 5);
    CHECK(f.page("who=viewer:alice")["entries"].empty());
    CHECK(f.page("route=flags_put")["entries"][0]["who"] == "viewer:bob");
    auto window = f.page("since_ms=2000&until_ms=4000");
    REQUIRE(window["entries"].size() == 2);
    CHECK(window["entries"][0]["atMs"] == 3000);
    CHECK(window["entries"][1]["atMs"] == 2000);

    for (const char* bad : {"who=a%20b", "since_ms=-1", "limit=0", "cursor=zz", "cursor=h1", "colour=red", "who=a&who=b"}) {
        INFO(bad);
        auto p = audit::audit_page(*f.log, bad);
        REQUIRE_FALSE(p.ok());
        CHECK(p.error().code == "audit.bad_query");
    }

    f.reopen();
    auto all = f.page("");
    CHECK(all["entries"].size() == 7);
    // Seqs go on increasing after a reopen.
    CHECK(f.add("operator:alice", "rollout_resume", 8000) > all["entries"][0]["seq"].get<int64_t>());
}

TEST_CASE("audit log: UPDATE and DELETE of a row are refused by the file itself, which stays as it was") {
    AuditFile f;
    f.add("operator:alice", "rollout_pause", 1000);
    f.add("operator:alice", "rollout_abort", 2000);
    f.log.reset();  // every row is in the file; what remains is another writer of it
    auto other = sql::Db::open(f.path);
    REQUIRE(other.ok());
    const std::string before = test::read_file(f.path) + test::read_file(f.path + "-wal");
    for (const char* change : {"UPDATE audit_log SET who = 'operator:mallory'", "DELETE FROM audit_log",
                               "DELETE FROM audit_log WHERE seq = 1", "INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log"}) {
        INFO(change);
        auto done = other->exec(change);
        REQUIRE_FALSE(done.ok());
        CHECK_THAT(done.error().describe(), Catch::Contains("append-only"));
    }
    CHECK(test::read_file(f.path) + test::read_file(f.path + "-wal") == before);
    f.reopen();
    auto all = f.page("");
    REQUIRE(all["entries"].size() == 2);
    CHECK(all["entries"][1]["who"] == "operator:alice");
}

TEST_CASE("audit log: the caller's address trusts X-Forwarded-For only from a configured proxy") {
    std::vector<IpRange> proxies = {*IpRange::parse("10.0.0.0/8")};
    CHECK(audit::caller_address("192.0.2.7", "203.0.113.9", {}) == "192.0.2.7");       // no proxies configured
    CHECK(audit::caller_address("192.0.2.7", "203.0.113.9", proxies) == "192.0.2.7");  // the peer is no proxy
    CHECK(audit::caller_address("10.1.1.1", "203.0.113.9", proxies) == "203.0.113.9");
    // What the client wrote on the left is its own claim: the nearest untrusted hop wins.
    CHECK(audit::caller_address("10.1.1.1", "1.2.3.4, 203.0.113.9, 10.2.2.2", proxies) == "203.0.113.9");
    CHECK(audit::caller_address("10.1.1.1", "not-an-ip", proxies) == "10.1.1.1");
    CHECK(audit::caller_address("10.1.1.1", "", proxies) == "10.1.1.1");
}

TEST_CASE("audit log: the target ids are the path's template parameters") {
    auto routes = Api::all_routes();
    CHECK(audit::path_targets(routes, "rollout_action", route_segments("/api/v1/rollouts/R7/pause")) ==
          std::vector<std::string>{"R7"});
    CHECK(audit::path_targets(routes, "order_payment", route_segments("/api/v1/hospitals/H001/orders/O9/payment")) ==
          std::vector<std::string>{"H001", "O9"});
    CHECK(audit::path_targets(routes, "console_session", route_segments("/api/v1/console/session")).empty());
}
