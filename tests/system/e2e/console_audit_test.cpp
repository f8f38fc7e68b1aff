// The operator console's backend (issue 17 item 2) on a real control plane, Mosquitto, agent
// and his-sim: every staff change lands in the append-only audit log (who, route, status,
// from), refused ones too, patients' requests never; the console signs in with a staff
// bearer token and then works by cookie, changes needing X-CSRF-Token.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

using namespace hisgate;

namespace {

// The value of cookie `name` as a Set-Cookie of `r` sets it ("" when none).
std::string console_set_cookie(const test::HttpReply& r, const std::string& name) {
    for (const auto& h : r.set_cookies)
        if (h.starts_with(name + "=")) return h.substr(name.size() + 1, h.find(';') - name.size() - 1);
    return "";
}

// Every row of the audit log as an operator reads it (one page is all of them here).
std::vector<nlohmann::json> console_audit_rows(test::System& sys, const std::string& query = "") {
    auto got = sys.get("/api/v1/audit" + query, sys.bearer("admin", "auditor"));
    INFO(got.body);
    REQUIRE(got.status == 200);
    return nlohmann::json::parse(got.body)["entries"].get<std::vector<nlohmann::json>>();
}

// The rows of `who` on `route`, newest first.
std::vector<nlohmann::json> console_rows_of(const std::vector<nlohmann::json>& rows, const std::string& who,
                                            const std::string& route) {
    std::vector<nlohmann::json> out;
    for (const auto& r : rows)
        if (r["who"] == who && r["route"] == route) out.push_back(r);
    return out;
}

}  // namespace

TEST_CASE("console: staff changes are audited with who, route, status and from - patients never, viewers may not read") {
    test::System sys({.hospitals = {"H001"},
                      .controlplane_config = R"({"audit": {"trusted_proxies": ["127.0.0.1"]},
                                                 "console": {"sign_ins_per_address": 2}})"});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();

    // An operator's change; a viewer's refused one; a change through our proxy.
    auto set = sys.put("/api/v1/flags/audit-demo", R"({"percent": 100})", sys.bearer("operator", "alice"));
    INFO(set.body);
    REQUIRE(set.status == 200);
    auto refused = sys.put("/api/v1/flags/audit-demo", R"({"percent": 0})", sys.bearer("viewer", "bob"));
    REQUIRE(refused.status == 403);
    auto proxied = sys.put("/api/v1/flags/via-proxy", R"({"percent": 50})",
                           {{"Authorization", "Bearer " + sys.token("admin", "carol")},
                            {"X-Forwarded-For", "198.51.100.1, 203.0.113.5"}});
    REQUIRE(proxied.status == 200);
    // A patient's booking (whatever the hospital answers) and reads are no operator actions.
    std::string today = sim::utc_today();
    nlohmann::json booking = {{"orderId", "O-AUDIT-1"},
                              {"slotId", "S-DR-101-" + today + "-08:00"},
                              {"slot", {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", "08:00"},
                                        {"end", "08:15"}, {"half", "AM"}, {"feeCents", 2500}}},
                              {"patient", {{"id", "P-AUDIT"}, {"birthDate", "1980-01-01"}, {"sex", "female"}}}};
    auto booked = test::http_send(port, "POST", "/api/v1/hospitals/H001/appointments", booking.dump(),
                                  sys.bearer("patient", "P-AUDIT"));
    CHECK(booked.status != 0);
    CHECK(sys.get("/api/v1/fleet", sys.bearer("operator", "alice")).status == 200);

    auto rows = console_audit_rows(sys);
    auto alice = console_rows_of(rows, "operator:alice", "flags_one");
    REQUIRE(alice.size() == 1);
    CHECK(alice[0]["role"] == "operator");
    CHECK(alice[0]["method"] == "PUT");
    CHECK(alice[0]["path"] == "/api/v1/flags/audit-demo");
    CHECK(alice[0]["targets"] == nlohmann::json::array({"audit-demo"}));
    CHECK(alice[0]["status"] == 200);
    CHECK(alice[0]["code"].is_null());
    CHECK(alice[0]["from"] == "127.0.0.1");
    CHECK(alice[0]["atMs"].get<int64_t>() > 0);
    auto bob = console_rows_of(rows, "viewer:bob", "flags_one");
    REQUIRE(bob.size() == 1);
    CHECK(bob[0]["status"] == 403);
    CHECK(bob[0]["code"] == "auth.forbidden");
    auto carol = console_rows_of(rows, "admin:carol", "flags_one");
    REQUIRE(carol.size() == 1);
    CHECK(carol[0]["from"] == "203.0.113.5");  // the peer is a trusted proxy: the hop it names
    for (const auto& r : rows) {
        INFO(r.dump());
        CHECK(r["role"] != "patient");
        CHECK(r["method"] != "GET");
        CHECK(r.dump().find("P-AUDIT") == std::string::npos);
    }
    CHECK(rows.size() == 3);
    CHECK(rows[0]["seq"].get<int64_t>() > rows[1]["seq"].get<int64_t>());  // newest first
    // Filters, as the console's page and `hisgate audit` ask.
    CHECK(console_audit_rows(sys, "?who=bob").size() == 1);
    CHECK(console_audit_rows(sys, "?route=flags_one&who=operator:alice").size() == 1);
    CHECK(console_audit_rows(sys, "?until_ms=1").empty());

    // `hisgate audit`: the table an operator reads, filtered; --json is the API's page.
    const std::string token_file = sys.dir() + "/auditor.token";
    test::write_file(token_file, sys.token("operator", "alice") + "\n");
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    auto table = test::run_capture({test::binary("cli/hisgate"), "audit", "--url", url, "--token-file", token_file,
                                    "--who", "bob", "--since", "1h"});
    INFO(table.output);
    CHECK(table.status == 0);
    CHECK_THAT(table.output, Catch::Contains("WHO") && Catch::Contains("viewer:bob") && Catch::Contains("auth.forbidden") &&
                                 Catch::Contains("/api/v1/flags/audit-demo") && Catch::Contains("1 entry") &&
                                 !Catch::Contains("operator:alice"));
    auto json = test::run_capture({test::binary("cli/hisgate"), "audit", "--json", "--url", url, "--token-file", token_file});
    CHECK(json.status == 0);
    CHECK(nlohmann::json::parse(json.output)["entries"].size() == 3);
    CHECK(test::run_capture({test::binary("cli/hisgate"), "audit", "--since", "yesterday"}).status == 2);

    // Reading the audit log is for operators and admins.
    CHECK(sys.get("/api/v1/audit", sys.bearer("viewer", "bob")).status == 403);
    CHECK(sys.get("/api/v1/audit", sys.bearer("patient", "P-AUDIT")).status == 403);
    CHECK(sys.get("/api/v1/audit", sys.bearer("operator", "alice")).status == 200);
    CHECK(sys.get("/api/v1/audit?limit=0", sys.bearer("operator", "alice")).code() == "audit.bad_query");

    // Console sign-in tries from one client behind our proxy are limited (2 per 10 min here):
    // the third is 429 and audited by whom its token names, from where; another client is not.
    const std::string dave = nlohmann::json{{"token", sys.token("operator", "dave")}}.dump();
    const std::map<std::string, std::string> via_proxy = {{"X-Forwarded-For", "198.51.100.9"}};
    CHECK(test::http_send(port, "POST", "/api/v1/console/session", dave, via_proxy).status == 200);
    CHECK(test::http_send(port, "POST", "/api/v1/console/session", dave, via_proxy).status == 200);
    auto limited = test::http_send(port, "POST", "/api/v1/console/session", dave, via_proxy);
    INFO(limited.body);
    CHECK(limited.status == 429);
    CHECK(limited.code() == "auth.rate_limited");
    CHECK(std::stoi(limited.headers["Retry-After"]) > 0);
    CHECK(limited.set_cookies.empty());
    CHECK(test::http_send(port, "POST", "/api/v1/console/session", dave, {{"X-Forwarded-For", "198.51.100.10"}}).status ==
          200);
    auto tries = console_rows_of(console_audit_rows(sys), "operator:dave", "console_session");
    REQUIRE(tries.size() == 4);  // newest first
    CHECK(tries[0]["status"] == 200);
    CHECK(tries[1]["status"] == 429);
    CHECK(tries[1]["code"] == "auth.rate_limited");
    CHECK(tries[1]["from"] == "198.51.100.9");
}

TEST_CASE("console: sign-in with an operator token sets the cookies, changes by cookie need X-CSRF-Token, sign-in and sign-out are audited") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();

    auto signed_in = test::http_send(port, "POST", "/api/v1/console/session",
                                     nlohmann::json{{"token", sys.token("operator", "alice")}}.dump());
    INFO(signed_in.body);
    REQUIRE(signed_in.status == 200);
    auto who = nlohmann::json::parse(signed_in.body);
    CHECK(who["role"] == "operator");
    CHECK(who["subject"] == "alice");
    CHECK(who["expires_in_s"].get<int64_t>() > 0);
    const std::string session = console_set_cookie(signed_in, "hg_session");
    const std::string csrf = console_set_cookie(signed_in, "hg_csrf");
    REQUIRE(!session.empty());
    CHECK(csrf == who["csrf_token"]);
    const std::map<std::string, std::string> by_cookie = {{"Cookie", "hg_session=" + session + "; hg_csrf=" + csrf}};
    auto with_csrf = by_cookie;
    with_csrf["X-CSRF-Token"] = csrf;

    auto shown = test::http_get(port, "/api/v1/console/session", by_cookie);
    REQUIRE(shown.status == 200);
    CHECK(nlohmann::json::parse(shown.body)["subject"] == "alice");
    CHECK(nlohmann::json::parse(shown.body)["csrf_token"] == csrf);
    // Every staff route works by cookie; a change without the CSRF header is refused and changes nothing.
    CHECK(test::http_get(port, "/api/v1/fleet", by_cookie).status == 200);
    auto forged = test::http_send(port, "PUT", "/api/v1/flags/by-cookie", R"({"percent": 100})", by_cookie);
    CHECK(forged.status == 403);
    CHECK(forged.code() == "auth.csrf");
    CHECK(nlohmann::json::parse(sys.get("/api/v1/flags").body).dump().find("by-cookie") == std::string::npos);
    auto changed = test::http_send(port, "PUT", "/api/v1/flags/by-cookie", R"({"percent": 100})", with_csrf);
    INFO(changed.body);
    CHECK(changed.status == 200);

    // Sign-out is CSRF-checked too, then closes the session: the cookie is refused from then on.
    CHECK(test::http_send(port, "DELETE", "/api/v1/console/session", "", by_cookie).code() == "auth.csrf");
    auto out = test::http_send(port, "DELETE", "/api/v1/console/session", "", with_csrf);
    CHECK(out.status == 200);
    CHECK(console_set_cookie(out, "hg_session").empty());
    CHECK(test::http_get(port, "/api/v1/console/session", by_cookie).status == 401);
    CHECK(test::http_get(port, "/api/v1/fleet", by_cookie).status == 401);

    // Refused at sign-in: a patient's token, a service's, a tampered one, a bad body.
    auto patient = test::http_send(port, "POST", "/api/v1/console/session",
                                   nlohmann::json{{"token", sys.token("patient", "P-CONSOLE")}}.dump());
    CHECK(patient.status == 403);
    CHECK(patient.code() == "console.role");
    CHECK(patient.set_cookies.empty());
    CHECK(test::http_send(port, "POST", "/api/v1/console/session",
                          nlohmann::json{{"token", sys.token("service", "bot")}}.dump()).code() == "console.role");
    std::string tampered = sys.token("operator", "alice");
    // Not the last character: its low bits are base64 padding a decoder may ignore.
    char& flipped = tampered[tampered.size() - 5];
    flipped = flipped == 'A' ? 'B' : 'A';
    auto bad = test::http_send(port, "POST", "/api/v1/console/session", nlohmann::json{{"token", tampered}}.dump());
    CHECK(bad.status == 401);
    CHECK(bad.code() == "auth.invalid_token");
    CHECK(test::http_send(port, "POST", "/api/v1/console/session", R"({"token": 1})").code() == "request.invalid");
    CHECK(test::http_send(port, "POST", "/api/v1/console/session", std::string(5000, ' ')).status == 413);
    CHECK(test::http_get(port, "/api/v1/console/session").code() == "console.no_session");

    auto rows = console_audit_rows(sys);
    auto sessions = console_rows_of(rows, "operator:alice", "console_session");
    REQUIRE(sessions.size() == 3);  // sign-out, its CSRF refusal, sign-in (newest first)
    CHECK(sessions[0]["method"] == "DELETE");
    CHECK(sessions[0]["status"] == 200);
    CHECK(sessions[1]["code"] == "auth.csrf");
    CHECK(sessions[2]["method"] == "POST");
    CHECK(sessions[2]["status"] == 200);
    auto flags = console_rows_of(rows, "operator:alice", "flags_one");
    REQUIRE(flags.size() == 2);
    CHECK(flags[0]["status"] == 200);
    CHECK(flags[1]["status"] == 403);
    CHECK(flags[1]["code"] == "auth.csrf");
    CHECK(console_rows_of(rows, "service:bot", "console_session").size() == 1);
    for (const auto& r : rows) CHECK(r["role"] != "patient");
}
