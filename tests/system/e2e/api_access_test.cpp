// Who may use the API (issue 12 item 4), against the real control plane, agent and his-sim:
// no token or a bad one is 401, a role outside the route is 403, a patient sees only their
// own reports and tasks (another's is 404), and a signing key is rotated while the control
// plane runs, with `hisgate token new-key` as an operator would.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
std::string code_of(const test::HttpReply& r) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc.value("code", "") : "";
}
}  // namespace

TEST_CASE("api access: every route but /healthz needs a valid bearer token, and each role only its routes") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    const std::string report = "/api/v1/hospitals/H001/reports/R-DEMO-1";

    auto none = test::http_get(sys.api_port(), report);
    CHECK(none.status == 401);  // before: 200 and the report, to anyone
    CHECK(code_of(none) == "auth.missing_token");
    CHECK(none.headers["WWW-Authenticate"] == R"(Bearer realm="hisgate")");
    auto junk = sys.get(report, {{"Authorization", "Bearer abc.def.ghi"}});
    CHECK(junk.status == 401);
    CHECK(code_of(junk) == "auth.invalid_token");
    CHECK_THAT(junk.headers["WWW-Authenticate"], Catch::Contains("invalid_token"));
    CHECK(sys.get(report, {{"Authorization", "Basic b3BzOm9wcw=="}}).status == 401);
    CHECK(test::http_get(sys.api_port(), "/metrics").status == 401);
    CHECK(test::http_get(sys.api_port(), "/healthz").status == 200);

    // The patient whose report it is reads it; another patient gets 404, as for no report.
    auto own = sys.get(report, sys.bearer("patient", "P-DEMO-1"));
    INFO(own.body);
    CHECK(own.status == 200);
    CHECK(nlohmann::json::parse(own.body)["patientId"] == "P-DEMO-1");
    auto other = sys.get(report, sys.bearer("patient", "P-OTHER"));
    CHECK(other.status == 404);
    CHECK(code_of(other) == "report.not_found");
    CHECK(other.body.find("P-DEMO-1") == std::string::npos);

    // Roles: patients do not read metrics; viewers read but do not book; patients book only for themselves.
    CHECK(sys.get("/metrics", sys.bearer("patient", "P-DEMO-1")).status == 403);
    CHECK(sys.get("/metrics", sys.bearer("viewer", "dashboard")).status == 200);
    CHECK(sys.get("/api/v1/hospitals", sys.bearer("patient", "P-DEMO-1")).status == 200);
    std::string booking = R"({"orderId": "O-ACCESS-1", "slotId": "S-1", "patient": {"id": "P-DEMO-2"}})";
    auto viewer_books = sys.post("/api/v1/hospitals/H001/appointments", booking, sys.bearer("viewer", "dashboard"));
    CHECK(viewer_books.status == 403);
    CHECK(code_of(viewer_books) == "auth.forbidden");
    auto for_another = sys.post("/api/v1/hospitals/H001/appointments", booking, sys.bearer("patient", "P-DEMO-1"));
    CHECK(for_another.status == 403);
    CHECK_THAT(for_another.body, Catch::Contains("its own patient"));

    // Refusals are counted on the control plane's page.
    CHECK_THAT(sys.get("/metrics").body, Catch::Contains("hisgate_http_unauthenticated_total 4"));
}

TEST_CASE("api access: a patient polls only their own task; another patient's is 404") {
    // The HIS answers after the control plane stops waiting: the report becomes a task to poll.
    test::System sys({.hospitals = {"H001"}, .request_timeout_ms = 500, .sim_faults = {{"H001", R"({"latency_ms": 1500})"}}});
    REQUIRE(sys.start());
    auto mine = sys.bearer("patient", "P-DEMO-1");
    auto pending = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1", mine);
    INFO(pending.body);
    REQUIRE(pending.status == 202);
    std::string poll = nlohmann::json::parse(pending.body)["poll"];
    REQUIRE(test::eventually([&] { return sys.get(poll, mine).status == 200; }, 20s));
    CHECK(nlohmann::json::parse(sys.get(poll, mine).body)["result"]["patientId"] == "P-DEMO-1");
    auto theirs = sys.get(poll, sys.bearer("patient", "P-OTHER"));
    CHECK(theirs.status == 404);  // before: 200 with the report
    CHECK(theirs.body.find("P-DEMO-1") == std::string::npos);
    CHECK(sys.get(poll).status == 200);  // staff see every task
}

TEST_CASE("api access: a signing key rotated while the control plane runs, old tokens valid until their key goes") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    auto old_token = sys.bearer("operator", "ops");
    CHECK(sys.get("/api/v1/hospitals", old_token).status == 200);
    std::vector<std::string> old_keys;
    for (const auto& f : std::filesystem::directory_iterator(sys.keys_dir())) old_keys.push_back(f.path());
    REQUIRE(old_keys.size() == 1);

    std::this_thread::sleep_for(1100ms);  // key ids are named by the second (a real clock: a real program)
    std::string cli = test::binary("cli/hisgate") + " token new-key --keys " + sys.keys_dir() + " > /dev/null";
    REQUIRE(std::system(cli.c_str()) == 0);
    auto new_token = sys.bearer("operator", "ops");  // signed with the newest key
    CHECK(new_token != old_token);
    CHECK(test::eventually([&] { return sys.get("/api/v1/hospitals", new_token).status == 200; }));
    CHECK(sys.get("/api/v1/hospitals", old_token).status == 200);  // no downtime for holders of old tokens

    std::filesystem::remove(old_keys[0]);
    CHECK(test::eventually([&] { return sys.get("/api/v1/hospitals", old_token).status == 401; }));
    CHECK(sys.get("/api/v1/hospitals", new_token).status == 200);
    CHECK(sys.controlplane().running());
}
