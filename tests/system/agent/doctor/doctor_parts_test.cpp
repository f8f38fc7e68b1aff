// The doctor's parts on real files, filesystems and time zones: what each verdict
// depends on, including the thresholds a whole-system test cannot reach.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "agent/doctor/file_checks.h"
#include "agent/doctor/finding_table.h"
#include "agent/doctor/his_clock.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent::doctor;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {
HisClockReading reading_off_by(milliseconds skew) {
    auto local = floor<seconds>(system_clock::now());
    // The HIS writes whole seconds, so its reading is half a second early on average.
    return HisClockReading{local + skew - 500ms, local, "test", false};
}
}  // namespace

TEST_CASE("doctor parts: clock skew is OK within 5 s, WARN up to 60 s, FAIL beyond, either way") {
    CHECK(judge_clock(reading_off_by(2s)).status == Status::Ok);
    CHECK(judge_clock(reading_off_by(-2s)).status == Status::Ok);
    CHECK(judge_clock(reading_off_by(30s)).status == Status::Warn);
    CHECK(judge_clock(reading_off_by(-30s)).status == Status::Warn);
    auto behind = judge_clock(reading_off_by(-90s));
    CHECK(behind.status == Status::Fail);
    CHECK_THAT(behind.detail, Catch::Contains("1m30s behind"));
    CHECK_THAT(behind.fix, Catch::Contains("NTP"));
    auto unread = judge_clock(Result<HisClockReading>(make_error(ErrorClass::Unavailable, "mllp.connect_failed", "refused")));
    CHECK(unread.status == Status::Warn);
    CHECK_THAT(unread.detail, Catch::Contains("not checked") && Catch::Contains("mllp.connect_failed"));
}

TEST_CASE("doctor parts: secret files must be readable by this user only") {
    std::string dir = test::make_temp_dir("hisgate-doctor-files");
    std::string secret = dir + "/token";
    test::write_file(secret, "s3cret\n");
    ::chmod(secret.c_str(), 0600);
    CHECK(secret_file("his.rest.token_file", secret).status == Status::Ok);
    ::chmod(secret.c_str(), 0640);
    auto open = secret_file("his.rest.token_file", secret);
    CHECK(open.status == Status::Fail);
    CHECK(open.check == "permissions.his.rest.token_file");
    CHECK(open.fix == "chmod 600 " + secret);
    auto missing = secret_file("broker.password_file", dir + "/nothing");
    CHECK(missing.status == Status::Fail);
    CHECK_THAT(missing.detail, Catch::Contains("No such file"));
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("doctor parts: the state database's folder must exist and take new files") {
    std::string dir = test::make_temp_dir("hisgate-doctor-state");
    CHECK(state_db_access(dir + "/agent.db").status == Status::Ok);
    auto no_folder = state_db_access(dir + "/missing/agent.db");
    CHECK(no_folder.status == Status::Fail);
    CHECK_THAT(no_folder.fix, Catch::Contains("mkdir -p " + dir + "/missing"));
    test::write_file(dir + "/agent.db", "");
    ::chmod((dir + "/agent.db").c_str(), 0644);
    CHECK(state_db_access(dir + "/agent.db").status == Status::Warn);
    ::chmod((dir + "/agent.db").c_str(), 0600);
    CHECK(state_db_access(dir + "/agent.db").status == Status::Ok);
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("doctor parts: disk space is judged against the thresholds on the real filesystem") {
    std::string dir = test::make_temp_dir("hisgate-doctor-disk");
    std::string db = dir + "/agent.db";
    CHECK(disk_space(db, 0, 0).status == Status::Ok);
    // No filesystem has an exbibyte free: both thresholds are beyond reach.
    CHECK(disk_space(db, 0, 1ull << 60).status == Status::Warn);
    auto full = disk_space(db, 1ull << 60, 1ull << 60);
    CHECK(full.status == Status::Fail);
    CHECK_THAT(full.detail, Catch::Contains("MiB free"));
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("doctor parts: the table wraps long text inside its columns and any FAIL makes exit status 1") {
    Findings rows = {ok("params_file", "fine"),
                     fail("params_file", "line one\nline two is long enough that it has to wrap inside the detail column of the table",
                          "chmod 600 /etc/hisgate/broker.password")};
    std::string table = render_table(rows);
    CHECK_THAT(table, Catch::Contains("| FAIL   | line one"));
    CHECK_THAT(table, Catch::Contains("chmod 600 /etc/hisgate/broker.password"));
    CHECK_THAT(table, Catch::Contains("2 checks: 1 failed, 0 warnings"));
    for (size_t at = 0, next; (next = table.find('\n', at)) != std::string::npos; at = next + 1) CHECK(next - at < 140);
    CHECK(exit_status(rows) == 1);
    CHECK(exit_status({ok("a", "b"), warn("c", "d", "e")}) == 0);
    auto json = nlohmann::json::parse(render_json(rows));
    CHECK(json["ok"] == false);
    CHECK(json["checks"][1]["status"] == "FAIL");
}
