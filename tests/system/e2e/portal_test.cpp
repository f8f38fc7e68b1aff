// The patient portal's API end to end (issue 17 items 1 and 4, and its bad input): the
// real control plane, Mosquitto, agent and his-sim, a real pay-sim for the money routes,
// and a real SMTP relay (tools/smtp-sink, Debian's python3-aiosmtpd) that the sign-in
// codes and confirmations arrive at. A patient signs in the way the portal's page does:
// asks for a code, reads it from the relay's mailbox, verifies it, and then talks to the
// API with the hg_session and hg_csrf cookies and the X-CSRF-Token header.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "auth/access_token.h"
#include "auth/key_ring.h"
#include "common/sqlite.h"
#include "his-sim/hospital.h"
#include "tests/support/process.h"
#include "tests/support/running_pay_sim.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPortalSmsDomain = "sms.test";

// The SMTP relay: tools/smtp-sink/smtp_sink.py on a free port, its mailbox a directory.
struct PortalSmtpSink {
    std::string dir = test::make_temp_dir("smtp-sink");
    uint16_t port = test::free_port();
    test::Process proc;

    PortalSmtpSink() { REQUIRE(start()); }
    bool start() {
        proc = test::Process({"/usr/bin/python3", std::string(HISGATE_SOURCE_DIR) + "/tools/smtp-sink/smtp_sink.py", "--listen",
                              "127.0.0.1:" + std::to_string(port), "--out", dir},
                             dir + "/sink.out");
        return proc.start() && test::wait_port_open(port, 15s);
    }
    std::vector<nlohmann::json> mails() const {
        std::vector<nlohmann::json> out;
        std::ifstream in(dir + "/mail.jsonl");
        for (std::string line; std::getline(in, line);)
            if (auto doc = nlohmann::json::parse(line, nullptr, false); doc.is_object()) out.push_back(doc);
        return out;
    }
    // Mails to `phone`'s SMS address whose subject holds `subject_part`.
    std::vector<nlohmann::json> sms_to(const std::string& phone, const std::string& subject_part) const {
        std::vector<nlohmann::json> out;
        for (const auto& m : mails())
            if (m["to"].size() == 1 && m["to"][0] == phone + "@" + kPortalSmsDomain &&
                m["subject"].get<std::string>().find(subject_part) != std::string::npos)
                out.push_back(m);
        return out;
    }
    // The latest sign-in code sent to `phone`, once `count` codes have come.
    std::string code_for(const std::string& phone, size_t count = 1) const {
        std::string code;
        test::eventually([&] {
            auto sms = sms_to(phone, "验证码");
            if (sms.size() < count) return false;
            std::smatch m;
            std::string body = sms.back()["body"];
            if (std::regex_search(body, m, std::regex("[0-9]{6}"))) code = m.str();
            return !code.empty();
        }, 20s);
        return code;
    }
};

std::string portal_config(const PortalSmtpSink& sink, const nlohmann::json& more = nlohmann::json::object()) {
    nlohmann::json c = {{"notify", {{"smtp_port", sink.port}, {"sms_domain", kPortalSmsDomain}, {"interval_ms", 100},
                                    {"max_backoff_s", 1}}}};
    c.merge_patch(more);
    return c.dump();
}

// The value of cookie `name` as a Set-Cookie of `r` sets it, and the whole header.
std::pair<std::string, std::string> portal_set_cookie(const test::HttpReply& r, const std::string& name) {
    for (const auto& h : r.set_cookies)
        if (h.starts_with(name + "=")) return {h.substr(name.size() + 1, h.find(';') - name.size() - 1), h};
    return {"", ""};
}

struct PortalPatient {
    std::string patient_id, session, csrf;
    nlohmann::json verified;
    // Headers of a request by cookie; `csrf_header` adds X-CSRF-Token.
    std::map<std::string, std::string> cookies(bool csrf_header = true) const {
        std::map<std::string, std::string> h = {{"Cookie", "hg_session=" + session + "; hg_csrf=" + csrf}};
        if (csrf_header) h["X-CSRF-Token"] = csrf;
        return h;
    }
};

// Signs `phone` in as the page does: the code from the relay's mailbox.
PortalPatient portal_sign_in(test::System& sys, const PortalSmtpSink& sink, const std::string& phone, size_t nth_code = 1) {
    // A phone gets one code per portal.code_interval_s: a second sign-in waits for it.
    // Every request counts against the address's limit too: wait as told, then ask once more.
    auto asked = test::http_send(sys.api_port(), "POST", "/api/v1/auth/code", nlohmann::json{{"phone", phone}}.dump());
    if (asked.status == 429 && std::stoi(asked.headers["Retry-After"]) <= 10) {
        std::this_thread::sleep_for(std::chrono::seconds(std::stoi(asked.headers["Retry-After"])));
        asked = test::http_send(sys.api_port(), "POST", "/api/v1/auth/code", nlohmann::json{{"phone", phone}}.dump());
    }
    INFO(asked.body);
    REQUIRE(asked.status == 202);
    std::string code = sink.code_for(phone, nth_code);
    REQUIRE(code.size() == 6);
    auto verified = test::http_send(sys.api_port(), "POST", "/api/v1/auth/verify",
                                    nlohmann::json{{"phone", phone}, {"code", code}}.dump());
    INFO(verified.body);
    REQUIRE(verified.status == 200);
    PortalPatient p;
    p.verified = nlohmann::json::parse(verified.body);
    p.patient_id = p.verified["patient_id"];
    p.session = portal_set_cookie(verified, "hg_session").first;
    p.csrf = portal_set_cookie(verified, "hg_csrf").first;
    REQUIRE(!p.session.empty());
    REQUIRE(!p.csrf.empty());
    return p;
}

}  // namespace

TEST_CASE("portal: sign in with the code the SMTP relay got - cookies, /me, the real-name step, logout, security headers") {
    PortalSmtpSink sink;
    // Two control planes on one results_db: a session signed out on one is refused by both.
    test::System sys({.hospitals = {"H001"},
                      .controlplane_config = portal_config(sink, {{"portal", {{"code_interval_s", 2}}}}),
                      .controlplanes = 2});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();

    auto asked = test::http_send(port, "POST", "/api/v1/auth/code", R"({"phone":"13800138000"})");
    REQUIRE(asked.status == 202);
    CHECK(nlohmann::json::parse(asked.body) == nlohmann::json{{"sent", true}, {"retry_after_s", 2}});
    for (const auto& [name, value] : std::map<std::string, std::string>{
             {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"},
             {"X-Content-Type-Options", "nosniff"},
             {"Referrer-Policy", "no-referrer"},
             {"Cache-Control", "no-store"}}) {
        INFO(name);
        CHECK(asked.headers[name] == value);
    }
    CHECK(asked.headers.count("Strict-Transport-Security") == 0);  // plain HTTP here
    std::string code = sink.code_for("13800138000");
    REQUIRE(code.size() == 6);
    auto mail = sink.sms_to("13800138000", "验证码").back();
    CHECK_THAT(mail["body"].get<std::string>(), Catch::Contains("5 分钟内有效"));

    auto verified = test::http_send(port, "POST", "/api/v1/auth/verify",
                                    nlohmann::json{{"phone", "13800138000"}, {"code", code}}.dump());
    INFO(verified.body);
    REQUIRE(verified.status == 200);
    auto who = nlohmann::json::parse(verified.body);
    CHECK(who["real_name_verified"] == false);
    CHECK(who["new_patient"] == true);
    const std::string patient = who["patient_id"];
    auto [session, session_header] = portal_set_cookie(verified, "hg_session");
    auto [csrf, csrf_header] = portal_set_cookie(verified, "hg_csrf");
    CHECK_THAT(session_header, Catch::Contains("; HttpOnly") && Catch::Contains("; SameSite=Strict") &&
                                   Catch::Contains("; Path=/") && !Catch::Contains("Secure"));
    CHECK_THAT(csrf_header, Catch::Contains("; SameSite=Strict") && !Catch::Contains("HttpOnly"));
    CHECK(csrf == who["csrf_token"]);
    PortalPatient me{patient, session, csrf, who};
    // The session cookie is the patient's access token: no PHI in it, none in the log.
    CHECK(session.find("13800138000") == std::string::npos);
    CHECK(test::read_file(sys.log_dir() + "/controlplane-cp1.log").find("13800138000") == std::string::npos);

    auto got = test::http_get(port, "/api/v1/me", me.cookies(false));
    REQUIRE(got.status == 200);
    CHECK(got.headers["Cache-Control"] == "no-store");
    auto me_doc = nlohmann::json::parse(got.body);
    CHECK(me_doc["patient_id"] == patient);
    CHECK(me_doc["phone_masked"] == "138****8000");
    CHECK(me_doc["real_name_verified"] == false);
    // Where and in which language messages go; an address that could smuggle a header is refused.
    auto contact = test::http_send(port, "PUT", "/api/v1/me", R"({"email":"li@example.com","lang":"en"})", me.cookies());
    CHECK(contact.status == 200);
    CHECK(nlohmann::json::parse(contact.body)["lang"] == "en");
    auto smuggled = test::http_send(port, "PUT", "/api/v1/me", R"({"email":"li@example.com\r\nBcc: all@example.com"})",
                                    me.cookies());
    CHECK(smuggled.status == 400);
    CHECK(smuggled.code() == "email.invalid");
    CHECK(nlohmann::json::parse(test::http_get(port, "/api/v1/me", me.cookies()).body)["email"] == "li@example.com");
    // The same through a bearer token; not for staff.
    CHECK(test::http_get(port, "/api/v1/me", sys.bearer("patient", patient)).status == 200);
    CHECK(test::http_get(port, "/api/v1/me", sys.bearer("operator", "ops")).status == 403);

    // Changes by cookie need the CSRF header: without it, or with another value, 403 and nothing changes.
    const std::string good_id = R"({"name":"<script>alert(1)</script>","id_number":"11010519491231002X"})";
    auto no_csrf = test::http_send(port, "POST", "/api/v1/me/real-name", good_id, me.cookies(false));
    CHECK(no_csrf.status == 403);
    CHECK(no_csrf.code() == "auth.csrf");
    auto other_csrf = me.cookies();
    other_csrf["X-CSRF-Token"] = std::string(csrf.size(), '0');
    CHECK(test::http_send(port, "POST", "/api/v1/me/real-name", good_id, other_csrf).code() == "auth.csrf");
    CHECK(nlohmann::json::parse(test::http_get(port, "/api/v1/me", me.cookies()).body)["real_name_verified"] == false);

    // The real-name step names the wrong part.
    auto checksum = test::http_send(port, "POST", "/api/v1/me/real-name",
                                    R"({"name":"张三","id_number":"110105194912310021"})", me.cookies());
    CHECK(checksum.status == 400);
    CHECK(checksum.code() == "id.checksum");
    CHECK(nlohmann::json::parse(checksum.body)["field"] == "id_number");
    auto birth = test::http_send(port, "POST", "/api/v1/me/real-name",
                                 R"({"name":"张三","id_number":"110105194902300013"})", me.cookies());
    CHECK(birth.code() == "id.birth_date");
    auto no_name = test::http_send(port, "POST", "/api/v1/me/real-name",
                                   R"({"name":"","id_number":"11010519491231002X"})", me.cookies());
    CHECK(no_name.code() == "name.empty");
    CHECK(nlohmann::json::parse(no_name.body)["field"] == "name");

    // Script in the name: stored as text, answered JSON-escaped (no '<' in the bytes).
    auto done = test::http_send(port, "POST", "/api/v1/me/real-name", good_id, me.cookies());
    INFO(done.body);
    REQUIRE(done.status == 200);
    CHECK(done.body.find('<') == std::string::npos);
    CHECK_THAT(done.body, Catch::Contains("\\u003cscript\\u003e"));
    auto after = test::http_get(port, "/api/v1/me", me.cookies());
    CHECK(after.body.find('<') == std::string::npos);
    auto after_doc = nlohmann::json::parse(after.body);
    CHECK(after_doc["real_name"] == "<script>alert(1)</script>");
    CHECK(after_doc["real_name_verified"] == true);
    CHECK(after_doc["id_masked"] == "110***********002X");
    // The booking rules' facts say so too (the route takes the cookie like a bearer token).
    auto facts = test::http_get(port, "/api/v1/patients/" + patient + "/facts", me.cookies(false));
    REQUIRE(facts.status == 200);
    CHECK(nlohmann::json::parse(facts.body)["realNameVerified"] == true);

    // Tampered and expired session cookies are refused.
    auto tampered = me;
    // A signature character other than the last: the last one's low bits are base64 padding,
    // which a decoder may ignore, so changing only them can leave the same signature bytes.
    char& flipped = tampered.session[tampered.session.size() - 5];
    flipped = flipped == 'A' ? 'B' : 'A';
    auto bad = test::http_get(port, "/api/v1/me", tampered.cookies());
    CHECK(bad.status == 401);
    CHECK(bad.code() == "auth.invalid_token");
    auto ring = auth::KeyRing::open(sys.keys_dir());
    REQUIRE(ring);
    auto then = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - 2h;
    auto expired_jwt = auth::issue_token(**ring, {auth::Role::Patient, patient, then + 30min}, then);
    REQUIRE(expired_jwt);
    auto expired = me;
    expired.session = *expired_jwt;
    auto old = test::http_get(port, "/api/v1/me", expired.cookies());
    CHECK(old.status == 401);
    CHECK_THAT(old.body, Catch::Contains("expired"));

    // A session past half its life is renewed on its next answer (same hg_csrf); a fresh one is not.
    CHECK(test::http_get(port, "/api/v1/me", me.cookies()).set_cookies.empty());
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    // The sign-in's token carries its session's id: the aging token is of the same session.
    const std::string me_session = auth::verify_token(**ring, me.session, now)->session;
    CHECK(me_session.size() == 32);
    auto aging_jwt = auth::issue_token(**ring, {auth::Role::Patient, patient, now + 5min, me_session}, now - 25min);
    REQUIRE(aging_jwt);
    auto aging = me;
    aging.session = *aging_jwt;
    auto renewed = test::http_get(port, "/api/v1/me", aging.cookies());
    CHECK(renewed.status == 200);
    auto [fresh, fresh_header] = portal_set_cookie(renewed, "hg_session");
    CHECK(!fresh.empty());
    CHECK(fresh != *aging_jwt);
    CHECK_THAT(fresh_header, Catch::Contains("Max-Age=1800") && Catch::Contains("HttpOnly"));
    CHECK(portal_set_cookie(renewed, "hg_csrf").first == csrf);
    aging.session = fresh;
    CHECK(test::http_get(port, "/api/v1/me", aging.cookies()).status == 200);
    // A token of no session (not made by a sign-in) is accepted but never renewed: it could not be signed out.
    auto sessionless_jwt = auth::issue_token(**ring, {auth::Role::Patient, patient, now + 5min}, now - 25min);
    auto sessionless = me;
    sessionless.session = *sessionless_jwt;
    auto not_renewed = test::http_get(port, "/api/v1/me", sessionless.cookies());
    CHECK(not_renewed.status == 200);
    CHECK(not_renewed.set_cookies.empty());

    // Signing in again is the same patient in a session of its own, good on either instance;
    // signing out needs the CSRF header and clears both cookies.
    auto again = portal_sign_in(sys, sink, "13800138000", 2);
    CHECK(again.patient_id == patient);
    CHECK(again.verified["new_patient"] == false);
    CHECK(again.verified["real_name_verified"] == true);
    const uint16_t cp2 = sys.api_port_at(1);
    CHECK(test::http_get(cp2, "/api/v1/me", again.cookies(false)).status == 200);
    CHECK(test::http_send(port, "POST", "/api/v1/auth/logout", "", again.cookies(false)).code() == "auth.csrf");
    CHECK(test::http_get(port, "/api/v1/me", again.cookies(false)).status == 200);  // that refused logout closed nothing
    auto out = test::http_send(port, "POST", "/api/v1/auth/logout", "", again.cookies());
    CHECK(out.status == 200);
    CHECK_THAT(portal_set_cookie(out, "hg_session").second, Catch::Contains("Max-Age=0"));
    CHECK(portal_set_cookie(out, "hg_session").first.empty());
    CHECK(portal_set_cookie(out, "hg_csrf").first.empty());
    // The signed-out token is refused by both instances, as a cookie or as a bearer token,
    // long before it expires, and a change made with it changes nothing.
    const std::map<std::string, std::string> old_bearer = {{"Authorization", "Bearer " + again.session}};
    for (uint16_t p : {port, cp2}) {
        INFO("port " << p);
        auto by_cookie = test::http_get(p, "/api/v1/me", again.cookies(false));
        CHECK(by_cookie.status == 401);
        CHECK(by_cookie.code() == "auth.invalid_token");
        CHECK_THAT(by_cookie.body, Catch::Contains("signed out"));
        CHECK(test::http_get(p, "/api/v1/me", old_bearer).status == 401);
        CHECK(test::http_send(p, "PUT", "/api/v1/me", R"({"email":"x@example.com"})", again.cookies()).status == 401);
    }
    CHECK(nlohmann::json::parse(test::http_get(port, "/api/v1/me", sys.bearer("patient", patient)).body)["email"] ==
          "li@example.com");
    // The patient's first session is still signed in. Signed out through cp2 by its bearer
    // token, it takes every token of that session along (the one before renewal too).
    CHECK(test::http_get(port, "/api/v1/me", aging.cookies()).status == 200);
    auto out_by_bearer = test::http_send(cp2, "POST", "/api/v1/auth/logout", "", {{"Authorization", "Bearer " + aging.session}});
    CHECK(out_by_bearer.status == 200);
    CHECK(test::http_get(port, "/api/v1/me", aging.cookies()).status == 401);
    CHECK(test::http_get(port, "/api/v1/me", me.cookies()).status == 401);
    // Signing out with no session, or with a token that no longer verifies, just clears the cookies.
    CHECK(test::http_send(port, "POST", "/api/v1/auth/logout", "").status == 200);
    CHECK(test::http_send(port, "POST", "/api/v1/auth/logout", "", tampered.cookies()).status == 200);

    // Signing out everywhere: two sessions of the patient, both closed by one of them (CSRF
    // checked), refused by both instances afterwards.
    auto phone_a = portal_sign_in(sys, sink, "13800138000", 3);
    auto phone_b = portal_sign_in(sys, sink, "13800138000", 4);
    CHECK(test::http_get(cp2, "/api/v1/me", phone_b.cookies(false)).status == 200);
    CHECK(test::http_send(port, "DELETE", "/api/v1/me/sessions", "", phone_a.cookies(false)).code() == "auth.csrf");
    CHECK(test::http_get(port, "/api/v1/me", phone_a.cookies(false)).status == 200);
    auto everywhere = test::http_send(port, "DELETE", "/api/v1/me/sessions", "", phone_a.cookies());
    INFO(everywhere.body);
    CHECK(everywhere.status == 200);
    CHECK(nlohmann::json::parse(everywhere.body, nullptr, false).value("sessions_closed", 0) >= 2);
    CHECK(portal_set_cookie(everywhere, "hg_session").first.empty());
    for (uint16_t p : {port, cp2})
        for (const auto* signed_in : {&phone_a, &phone_b}) {
            INFO("port " << p);
            CHECK(test::http_get(p, "/api/v1/me", signed_in->cookies(false)).status == 401);
        }
    CHECK(test::http_send(port, "DELETE", "/api/v1/me/sessions", "", sys.bearer("operator", "ops")).status == 403);

    // The OpenAPI document is served without a token.
    auto doc = test::http_get(port, "/api/v1/openapi.json");
    REQUIRE(doc.status == 200);
    auto openapi = nlohmann::json::parse(doc.body);
    CHECK(openapi["paths"].contains("/api/v1/auth/verify"));
    CHECK(openapi["paths"].contains("/api/v1/hospitals/{hospitalId}/appointments"));
}

TEST_CASE("portal: wrong codes are limited to 5 tries, codes are rate limited per phone and address, bad bodies change nothing") {
    PortalSmtpSink sink;
    test::System sys({.hospitals = {"H001"},
                      .controlplane_config = portal_config(sink, {{"portal", {{"codes_per_address_hour", 4}}}})});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();
    auto ask = [&](const std::string& phone) {
        return test::http_send(port, "POST", "/api/v1/auth/code", nlohmann::json{{"phone", phone}}.dump());
    };
    auto verify = [&](const std::string& body) { return test::http_send(port, "POST", "/api/v1/auth/verify", body); };

    REQUIRE(ask("13900139000").status == 202);
    auto soon = ask("13900139000");  // a second code within 60 s
    CHECK(soon.status == 429);
    CHECK(soon.code() == "auth.rate_limited");
    CHECK(std::stoi(soon.headers["Retry-After"]) > 0);
    CHECK(std::stoi(soon.headers["Retry-After"]) <= 60);
    const std::string code = sink.code_for("13900139000");
    REQUIRE(code.size() == 6);
    const std::string wrong = code == "000000" ? "000001" : "000000";
    auto attempt = [&](const std::string& c) {
        return verify(nlohmann::json{{"phone", "13900139000"}, {"code", c}}.dump());
    };
    for (int i = 0; i < 4; ++i) {
        auto r = attempt(wrong);
        CHECK(r.status == 401);
        CHECK(r.code() == "auth.code_wrong");
        CHECK(r.set_cookies.empty());
    }
    auto locked = attempt(wrong);
    CHECK(locked.code() == "auth.code_locked");
    auto too_late = attempt(code);  // the right code, after the fifth wrong try: gone
    CHECK(too_late.status == 401);
    CHECK(too_late.code() == "auth.no_code");
    CHECK(too_late.set_cookies.empty());

    // Bad bodies: each a clear 4xx, no cookie, no code sent.
    CHECK(verify("{not json").code() == "http.bad_json");
    CHECK(verify("[1,2]").code() == "http.bad_json");
    CHECK(verify(R"({"phone":"13900139000","code":"12345"})").code() == "auth.bad_code");
    CHECK(verify(R"({"phone":"13900139000","code":123456})").code() == "request.invalid");
    CHECK(verify(R"({"phone":"13900139000","code":"123456","admin":true})").code() == "request.invalid");
    auto huge = verify(R"({"phone":"13900139000","code":")" + std::string(10000, '1') + R"("})");
    CHECK(huge.status == 413);
    auto bad_phone = ask("<script>");
    CHECK(bad_phone.status == 400);
    CHECK(bad_phone.code() == "auth.bad_phone");
    CHECK(bad_phone.body.find('<') == std::string::npos);
    CHECK(sink.sms_to("13900139000", "验证码").size() == 1);

    // Per client address: 4 code requests an hour here (the refused one above counted).
    CHECK(ask("13700137000").status == 202);
    CHECK(ask("13700137001").status == 202);
    auto address_limited = ask("13700137002");
    CHECK(address_limited.status == 429);
    CHECK(address_limited.headers.count("Retry-After") == 1);
}

TEST_CASE("portal: a relay outage delays the sign-in code and loses none") {
    PortalSmtpSink sink;
    test::System sys({.hospitals = {"H001"}, .controlplane_config = portal_config(sink)});
    REQUIRE(sys.start());
    REQUIRE(sink.proc.stop() == 0);

    REQUIRE(test::http_send(sys.api_port(), "POST", "/api/v1/auth/code", R"({"phone":"13600136000"})").status == 202);
    // The relay refuses connections: the control plane tries, counts the failure, keeps the message.
    REQUIRE(test::eventually([&] {
        auto page = sys.get("/metrics").body;
        return test::metric_value(page, R"(hisgate_notify_failed_total{reason="smtp.unreachable"})") >= 2 &&
               test::metric_value(page, "hisgate_notify_waiting") == 1;
    }, 20s));
    CHECK(sink.mails().empty());

    REQUIRE(sink.start());
    const std::string code = sink.code_for("13600136000");
    REQUIRE(code.size() == 6);
    auto verified = test::http_send(sys.api_port(), "POST", "/api/v1/auth/verify",
                                    nlohmann::json{{"phone", "13600136000"}, {"code", code}}.dump());
    CHECK(verified.status == 200);
    CHECK(test::eventually([&] { return test::metric_value(sys.get("/metrics").body, "hisgate_notify_waiting") == 0; }));
    CHECK(sink.sms_to("13600136000", "验证码").size() == 1);  // once, however many tries it took
}

TEST_CASE("portal: patients see only their own bookings, payments, reports and tasks - another's id is 404") {
    PortalSmtpSink sink;
    test::RunningPaySim pay;
    nlohmann::json money = {{"request_timeouts_ms", {{"payment.pay", 2000}, {"appointment.book", 4000}}},
                            {"ledger", {{"dir", pay.dir + "/ledgers"}, {"reply_timeout_ms", 2000}}},
                            {"payments", {{"url", "http://127.0.0.1:" + std::to_string(pay.port)},
                                          {"key_file", pay.dir + "/merchant.key"}}}};
    test::System sys({.hospitals = {"H001"}, .controlplane_config = portal_config(sink, money)});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();
    auto a = portal_sign_in(sys, sink, "13500135000");
    auto b = portal_sign_in(sys, sink, "13500135001");
    REQUIRE(a.patient_id != b.patient_id);
    auto keyed = [](const PortalPatient& p, const std::string& key) {
        auto h = p.cookies();
        h["Idempotency-Key"] = key;
        return h;
    };

    // A books at the hospital by cookie: the answer is a task of A's; the confirmation
    // goes to A's phone through the relay.
    const std::string today = sim::utc_today();
    nlohmann::json booking = {{"orderId", "O-PORTAL-1"},
                              {"slotId", "S-DR-101-" + today + "-08:00"},
                              {"slot", {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", "08:00"},
                                        {"end", "08:15"}, {"half", "AM"}, {"feeCents", 2500}}},
                              {"patient", {{"birthDate", "1980-01-01"}, {"sex", "female"}}}};
    auto no_csrf = test::http_send(port, "POST", "/api/v1/hospitals/H001/appointments", booking.dump(), a.cookies(false));
    CHECK(no_csrf.code() == "auth.csrf");
    CHECK(sys.his_bookings("H001") == 0);  // refused before anything was asked
    auto booked = test::http_send(port, "POST", "/api/v1/hospitals/H001/appointments", booking.dump(), a.cookies());
    INFO(booked.body);
    REQUIRE(booked.status == 200);
    const std::string task = booked.headers["Task-Id"];
    REQUIRE(!task.empty());
    CHECK(test::http_get(port, "/api/v1/tasks/" + task, a.cookies()).status == 200);
    auto their_task = test::http_get(port, "/api/v1/tasks/" + task, b.cookies());
    CHECK(their_task.status == 404);
    CHECK(their_task.code() == "task.unknown");
    CHECK(test::eventually([&] { return sink.sms_to("13500135000", "预约成功").size() == 1; }, 20s));
    CHECK_THAT(sink.sms_to("13500135000", "预约成功")[0]["body"].get<std::string>(), Catch::Contains(today + " 上午"));
    CHECK(sink.sms_to("13500135001", "预约成功").empty());

    // A's payment and ledger booking: B's cookie finds neither, and cannot refund or cancel them.
    auto paid = test::http_send(
        port, "POST", "/api/v1/payments",
        nlohmann::json{{"hospitalId", "H001"}, {"patientId", a.patient_id}, {"amount", "15.00"}, {"currency", "CNY"},
                       {"purpose", "outpatient"}}.dump(),
        keyed(a, "pay-a-1"));
    INFO(paid.body);
    REQUIRE(paid.status == 201);
    const std::string payment = nlohmann::json::parse(paid.body)["transactionId"];
    auto ledger_booked = test::http_send(
        port, "POST", "/api/v1/bookings",
        nlohmann::json{{"hospitalId", "H001"}, {"slotId", "S1"}, {"patientId", a.patient_id}}.dump(), keyed(a, "book-a-1"));
    INFO(ledger_booked.body);
    REQUIRE(ledger_booked.status == 201);
    const std::string ledger_booking = nlohmann::json::parse(ledger_booked.body)["transactionId"];

    // A HIS slot id may hold ':' (a doctor and a time): booked as given and kept whole.
    const std::string colon_slot = "DR001:2026-12-07T09:00";
    auto colon_booked = test::http_send(
        port, "POST", "/api/v1/bookings",
        nlohmann::json{{"hospitalId", "H001"}, {"slotId", colon_slot}, {"patientId", a.patient_id}}.dump(),
        keyed(a, "book-a-colon"));
    INFO(colon_booked.body);
    REQUIRE(colon_booked.status == 201);
    CHECK(nlohmann::json::parse(colon_booked.body)["slotId"] == colon_slot);
    const std::string colon_id = nlohmann::json::parse(colon_booked.body)["transactionId"];
    auto colon_read = test::http_get(port, "/api/v1/transactions/" + colon_id, a.cookies());
    REQUIRE(colon_read.status == 200);
    CHECK(nlohmann::json::parse(colon_read.body)["slotId"] == colon_slot);
    // A slot id out of bounds, on either booking route, is a 400 naming it and books nothing.
    const auto mine_before =
        nlohmann::json::parse(test::http_get(port, "/api/v1/transactions", a.cookies()).body)["transactions"].size();
    const int his_before = sys.his_bookings("H001");
    int bad_n = 0;
    for (const std::string& bad : {std::string("DR001 09:00"), std::string("DR001/09:00"), std::string("DR|001"),
                                  std::string("S\u003c1"), std::string(129, 'S'), std::string()}) {
        INFO("slotId " << bad);
        auto refused = test::http_send(
            port, "POST", "/api/v1/bookings",
            nlohmann::json{{"hospitalId", "H001"}, {"slotId", bad}, {"patientId", a.patient_id}}.dump(),
            keyed(a, "book-a-bad-" + std::to_string(++bad_n)));
        // Too long is refused as any over-long id field of a body is (http.field_too_long).
        const std::string expected_code = bad.size() > 64 ? "http.field_too_long" : "request.bad_field";
        CHECK(refused.status == 400);
        CHECK(refused.code() == expected_code);
        CHECK_THAT(refused.body, Catch::Contains("slotId"));
        if (bad.empty()) continue;  // the appointment route leaves a missing slot to the agent
        auto agent_route = booking;
        agent_route["orderId"] = "O-PORTAL-BAD-" + std::to_string(bad_n);
        agent_route["slotId"] = bad;
        auto refused_at_hospital =
            test::http_send(port, "POST", "/api/v1/hospitals/H001/appointments", agent_route.dump(), a.cookies());
        CHECK(refused_at_hospital.status == 400);
        CHECK(refused_at_hospital.code() == expected_code);
    }
    CHECK(nlohmann::json::parse(test::http_get(port, "/api/v1/transactions", a.cookies()).body)["transactions"].size() ==
          mine_before);
    CHECK(sys.his_bookings("H001") == his_before);
    for (const auto& id : {payment, ledger_booking}) {
        INFO(id);
        CHECK(test::http_get(port, "/api/v1/transactions/" + id, a.cookies()).status == 200);
        CHECK(test::http_get(port, "/api/v1/transactions/" + id, b.cookies()).status == 404);
    }
    CHECK(test::http_send(port, "POST", "/api/v1/payments/" + payment + "/refund", "", keyed(b, "b-refund")).status == 404);
    CHECK(test::http_send(port, "POST", "/api/v1/bookings/" + ledger_booking + "/cancel", "", keyed(b, "b-cancel")).status ==
          404);
    CHECK(test::http_get(port, "/api/v1/transactions/" + payment, a.cookies()).status == 200);  // untouched
    auto list = test::http_get(port, "/api/v1/transactions?patientId=" + a.patient_id, b.cookies());
    CHECK(list.status == 403);

    // A's list of reports at H001 is A's own (none there); naming the demo patient is 403.
    auto a_reports = test::http_get(port, "/api/v1/hospitals/H001/reports", a.cookies());
    INFO(a_reports.body);
    REQUIRE(a_reports.status == 200);
    CHECK(nlohmann::json::parse(a_reports.body) ==
          nlohmann::json{{"patientId", a.patient_id}, {"reports", nlohmann::json::array()}});
    auto named = test::http_get(port, "/api/v1/hospitals/H001/reports?patientId=P-DEMO-1", a.cookies());
    CHECK(named.status == 403);
    CHECK(named.body.find("R-DEMO-1") == std::string::npos);

    // A report of another patient (his-sim's demo patient) is 404 to A; staff read it.
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    auto report = test::http_get(port, "/api/v1/hospitals/H001/reports/R-DEMO-1", a.cookies());
    CHECK(report.status == 404);
    CHECK(report.code() == "report.not_found");
}

TEST_CASE("portal: a patient lists their own lab reports a page at a time - another patient's never show") {
    // H002's his-sim keeps a report of the demo patient's too: "my reports" never asks it (not linked).
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    const uint16_t port = sys.api_port();
    {  // Four more reports of the demo patient, written into the simulated HIS's own file.
        auto db = sql::Db::open(sys.dir() + "/data/his-sim-H001.db");
        REQUIRE(db);
        for (int i = 2; i <= 5; ++i) {
            auto st = db->prepare(
                "INSERT INTO reports(report_id, patient_id, title, status, issued_at) VALUES(?1, 'P-DEMO-1', ?2, 'F', ?3)");
            REQUIRE(st);
            st->bind(1, "R-DEMO-" + std::to_string(i)).bind(2, "Panel " + std::to_string(i));
            st->bind(3, "2026112" + std::to_string(i) + "083000");
            REQUIRE(st->run());
        }
    }
    const std::string path = "/api/v1/hospitals/H001/reports";
    auto ids_of = [](const nlohmann::json& page) {
        std::vector<std::string> ids;
        for (const auto& r : page["reports"]) ids.push_back(r["reportId"]);
        return ids;
    };
    const std::vector<std::string> newest_first = {"R-DEMO-5", "R-DEMO-4", "R-DEMO-3", "R-DEMO-2", "R-DEMO-1"};
    const auto demo = sys.bearer("patient", "P-DEMO-1");
    auto all = test::http_get(port, path, demo);
    INFO(all.body);
    REQUIRE(all.status == 200);
    auto all_doc = nlohmann::json::parse(all.body);
    CHECK(all_doc["patientId"] == "P-DEMO-1");
    CHECK(ids_of(all_doc) == newest_first);
    CHECK_FALSE(all_doc.contains("nextCursor"));
    CHECK(all_doc["reports"][4]["title"].get<std::string>().size() > 0);

    // Pages of 2: three pages, the same reports in the same order, the last without a cursor.
    std::vector<std::string> paged;
    std::string cursor;
    int pages = 0;
    do {
        ++pages;
        auto r = test::http_get(port, path + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), demo);
        INFO(r.body);
        REQUIRE(r.status == 200);
        auto page = nlohmann::json::parse(r.body);
        CHECK(page["reports"].size() <= 2);
        for (const auto& id : ids_of(page)) paged.push_back(id);
        cursor = page.value("nextCursor", "");
    } while (!cursor.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(paged == newest_first);

    // Another patient of the same hospital sees only their own; naming the demo patient is
    // 403, and none of its reports show. Staff name the patient, and must.
    auto other = test::http_get(port, path, sys.bearer("patient", "P-H001-2"));
    REQUIRE(other.status == 200);
    CHECK(ids_of(nlohmann::json::parse(other.body)) == std::vector<std::string>{"R-H001-2"});
    auto theirs = test::http_get(port, path + "?patientId=P-DEMO-1", sys.bearer("patient", "P-H001-2"));
    CHECK(theirs.status == 403);
    CHECK(theirs.body.find("R-DEMO") == std::string::npos);
    auto staff = sys.get(path + "?patientId=P-DEMO-1&limit=100");
    REQUIRE(staff.status == 200);
    CHECK(ids_of(nlohmann::json::parse(staff.body)) == newest_first);
    CHECK(sys.get(path).code() == "patient.bad_id");
    CHECK(sys.get(path + "?patientId=" + std::string(65, 'P')).code() == "patient.bad_id");

    // Bad queries: a clear 400 naming the parameter; an unknown hospital 404.
    for (const char* q : {"limit=0", "limit=101", "limit=x", "cursor=zz", "cursor=r1", "page=2", "limit=1&limit=2"}) {
        INFO(q);
        auto r = test::http_get(port, path + "?" + q, demo);
        CHECK(r.status == 400);
        CHECK(r.body.find("R-DEMO") == std::string::npos);
    }
    CHECK(test::http_get(port, "/api/v1/hospitals/H-NONE/reports", demo).status != 200);

    // "My reports" asks only the hospitals linked to the patient (controlplane/patient_links.h),
    // each by its own number: none before a hospital confirmed a booking of theirs, then that one.
    auto my_reports = [&](const std::string& patient) {
        auto r = test::http_get(port, "/api/v1/me/reports", sys.bearer("patient", patient));
        INFO(r.body);
        REQUIRE(r.status == 200);
        return nlohmann::json::parse(r.body);
    };
    auto link_by_booking = [&](const std::string& patient, const std::string& order, const std::string& at) {
        const std::string today = sim::utc_today();
        nlohmann::json body = {{"orderId", order},
                               {"slotId", "S-DR-101-" + today + "-" + at},
                               {"slot", {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today},
                                         {"start", at}, {"end", at.substr(0, 3) + std::to_string(std::stoi(at.substr(3)) + 15)},
                                         {"half", "AM"}, {"feeCents", 2500}}}};
        auto r = test::http_send(port, "POST", "/api/v1/hospitals/H001/appointments", body.dump(), sys.bearer("patient", patient));
        INFO(r.body);
        REQUIRE(r.status == 200);
    };
    auto unlinked = my_reports("P-DEMO-1");
    CHECK(unlinked["hospitals"].empty());
    CHECK(unlinked["hint"]["code"] == "reports.no_linked_hospital");
    link_by_booking("P-DEMO-1", "O-LINK-1", "08:00");
    auto linked = my_reports("P-DEMO-1");
    REQUIRE(linked["hospitals"].size() == 1);  // H001 only, never H002
    CHECK(linked["hospitals"][0]["hospitalId"] == "H001");
    CHECK(linked["hospitals"][0]["status"] == "listed");
    CHECK(ids_of(linked["hospitals"][0]) == newest_first);
    // Another patient's token: nothing of the demo patient's, before and after their own link.
    auto other_unlinked = my_reports("P-H001-2");
    CHECK(other_unlinked["hospitals"].empty());
    link_by_booking("P-H001-2", "O-LINK-2", "08:15");
    auto other_linked = my_reports("P-H001-2");
    REQUIRE(other_linked["hospitals"].size() == 1);
    CHECK(ids_of(other_linked["hospitals"][0]) == std::vector<std::string>{"R-H001-2"});
    CHECK(other_linked.dump().find("R-DEMO") == std::string::npos);
    CHECK(sys.get("/api/v1/me/reports").status == 403);  // staff list one hospital's

    // The FHIR facade's search without performer: the linked hospitals' reports only; a
    // hospital not linked (H002) is not asked, and its report is not the patient's to read.
    auto fhir = test::http_get(port, "/fhir/r4/DiagnosticReport?patient=P-DEMO-1", demo);
    INFO(fhir.body);
    REQUIRE(fhir.status == 200);
    std::vector<std::string> fhir_ids;
    for (const auto& e : nlohmann::json::parse(fhir.body).value("entry", nlohmann::json::array()))
        fhir_ids.push_back(e["resource"].value("id", ""));
    CHECK(fhir_ids == std::vector<std::string>{"H001.R-DEMO-5", "H001.R-DEMO-4", "H001.R-DEMO-3", "H001.R-DEMO-2",
                                               "H001.R-DEMO-1"});
    auto at_h002 = test::http_get(port, "/fhir/r4/DiagnosticReport?performer=H002&patient=P-DEMO-1", demo);
    CHECK(at_h002.status == 200);
    CHECK(at_h002.body.find("R-DEMO") == std::string::npos);
    CHECK(test::http_get(port, "/fhir/r4/DiagnosticReport/H002.R-DEMO-1", demo).status == 404);
    auto other_fhir = test::http_get(port, "/fhir/r4/DiagnosticReport?patient=P-H001-2", sys.bearer("patient", "P-H001-2"));
    CHECK(other_fhir.status == 200);
    CHECK(other_fhir.body.find("R-DEMO") == std::string::npos);
    CHECK(other_fhir.body.find("H001.R-H001-2") != std::string::npos);

    // Identity at a hospital is its number: once P-ZED holds the number "P-DEMO-1" at H002 (as a
    // hospital's answer would link it; written here into the control plane's store), H002's
    // R-DEMO-1 is P-ZED's, and P-DEMO-1, not linked there, is no longer asked there by its id.
    const std::string h002 = "/api/v1/hospitals/H002/reports";
    CHECK(ids_of(nlohmann::json::parse(test::http_get(port, h002, demo).body)) == std::vector<std::string>{"R-DEMO-1"});
    {
        auto db = sql::Db::open(sys.dir() + "/data/controlplane-cp1.db");
        REQUIRE(db);
        auto st = db->prepare("INSERT INTO patient_links(patient_id, hospital_id, his_patient_id, linked_ms) "
                              "VALUES('P-ZED', 'H002', 'P-DEMO-1', 0)");
        REQUIRE(st);
        REQUIRE(st->run());
    }
    auto zed = my_reports("P-ZED");
    REQUIRE(zed["hospitals"].size() == 1);
    CHECK(ids_of(zed["hospitals"][0]) == std::vector<std::string>{"R-DEMO-1"});
    auto demo_at_h002 = test::http_get(port, h002, demo);
    REQUIRE(demo_at_h002.status == 200);
    CHECK(ids_of(nlohmann::json::parse(demo_at_h002.body)).empty());
    CHECK(test::http_get(port, h002 + "/R-DEMO-1", demo).status == 404);
}
