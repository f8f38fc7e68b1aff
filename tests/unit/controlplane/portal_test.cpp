// The patient portal's parts in-process (issue 17 items 1 and 4): the phone and resident
// ID checks, the sign-in codes on a real SQLite file, the rate limiter, the notification
// outbox and its relay loop with a sender that fails and recovers, the reminder's time, the
// console's sign-in limit per client address (over a loopback server), and the OpenAPI
// document against the route tables the server matches requests with. Time is a ManualClock.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>

#include "auth/key_ring.h"
#include "common/http_server.h"
#include "common/ip_range.h"
#include "common/sqlite.h"
#include "controlplane/api.h"
#include "controlplane/console/console_session.h"
#include "controlplane/notify/notifier.h"
#include "controlplane/portal/rate_limit.h"
#include "controlplane/portal/resident_id.h"
#include "controlplane/portal/sign_in_store.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace std::chrono_literals;

namespace {

// A MailSender that is down until told otherwise, and keeps what it sent.
class PortalTestSender final : public notify::MailSender {
public:
    bool up = false;
    std::vector<notify::Mail> sent;
    int tries = 0;
    std::vector<Result<void>> send(const std::vector<notify::Mail>& mails) override {
        std::vector<Result<void>> out;
        for (const auto& m : mails) {
            ++tries;
            if (!up) {
                out.push_back(make_error(ErrorClass::Unavailable, "smtp.unreachable", "the relay is down"));
                continue;
            }
            sent.push_back(m);
            out.emplace_back();
        }
        return out;
    }
};

std::string portal_test_db(const std::string& name) { return test::make_temp_dir("portal-test") + "/" + name; }

// A signing key, the portal's stores on one SQLite file and its notifier, on a ManualClock:
// what a PortalApi or a ConsoleSession needs in the rate-limit cases.
struct PortalLimitRig {
    ManualClock clock;
    std::string dir = test::make_temp_dir("portal-limit");
    std::unique_ptr<auth::KeyRing> keys;
    std::unique_ptr<portal::SignInStore> accounts;
    std::unique_ptr<PatientRecords> records;
    std::unique_ptr<notify::Outbox> outbox;
    PortalTestSender sender;
    std::unique_ptr<notify::Notifier> notifier;
    std::unique_ptr<portal::RateLimiter> limiter;
    PortalLimitRig() {
        REQUIRE(auth::KeyRing::create_key(dir + "/keys", clock.wall_now()));
        auto k = auth::KeyRing::open(dir + "/keys", clock);
        auto a = portal::open_sqlite_sign_in_store(dir + "/portal.db", clock);
        auto r = open_sqlite_patient_records(dir + "/portal.db", clock);
        auto o = notify::open_sqlite_outbox(dir + "/portal.db");
        auto l = portal::open_sqlite_rate_limiter(dir + "/portal.db", clock);
        REQUIRE((k && a && r && o && l));
        keys = std::move(*k), accounts = std::move(*a), records = std::move(*r), outbox = std::move(*o);
        limiter = std::move(*l);
        notifier = std::make_unique<notify::Notifier>(*outbox, sender, *accounts, clock, notify::NotifySettings{});
    }
    portal::PortalApi portal_api(portal::PortalSettings settings = {}) {
        return portal::PortalApi(*accounts, *notifier, *records, *keys, *limiter, clock, settings);
    }
};

}  // namespace

TEST_CASE("portal: phone numbers and resident ID numbers are checked part by part") {
    using namespace portal;
    CHECK(check_phone("13800138000"));
    for (const char* bad : {"", "1380013800", "138001380001", "23800138000", "1380013800a", "+8613800138"})
        CHECK(check_phone(bad).error().code == "auth.bad_phone");
    CHECK(mask_phone("13800138000") == "138****8000");

    const std::string today = "20261206";
    CHECK(check_resident_id("11010519491231002X", today));
    CHECK(check_resident_id("11010519491231002x", today));  // read as X
    CHECK(check_resident_id("440304199001011233", today));
    CHECK(check_resident_id("440304199001011234", today).error().code == "id.checksum");
    CHECK(check_resident_id("44030419900101123", today).error().code == "id.length");
    CHECK(check_resident_id("4403041990010112X3", today).error().code == "id.characters");
    CHECK(check_resident_id("44030419900101123Y", today).error().code == "id.characters");
    CHECK(check_resident_id("040304199001011233", today).error().code == "id.region");
    // February 30th, a birth date after today, before 1900: each with a valid check character.
    for (std::string first17 : {"44030419900230123", "44030420271201123", "44030418991231123"}) {
        INFO(first17);
        CHECK(check_resident_id(first17 + resident_id_check_char(first17), today).error().code == "id.birth_date");
    }

    CHECK(check_person_name("张三"));
    CHECK(check_person_name("<script>alert(1)</script>"));  // text: stored and answered escaped
    CHECK(check_person_name("").error().code == "name.empty");
    CHECK(check_person_name(std::string(51, 'a')).error().code == "name.too_long");
    CHECK(check_person_name("a\nb").error().code == "name.characters");
    CHECK(check_person_name("\xff").error().code == "name.characters");
    CHECK(check_email("li@example.com"));
    for (const char* bad : {"li", "@example.com", "li@", "li@a@b", "li @x.com", "li@x.com\r\nBcc: all@x.com"})
        CHECK(check_email(bad).error().code == "email.invalid");
}

TEST_CASE("portal: a sign-in code is used once, expires in 5 minutes, and allows 5 wrong tries") {
    ManualClock clock;
    auto store = portal::open_sqlite_sign_in_store(portal_test_db("codes.db"), clock);
    REQUIRE(store);
    auto& s = **store;

    auto code = s.issue_code("13800138000");
    REQUIRE(code);
    CHECK(code->size() == 6);
    CHECK(code->find_first_not_of("0123456789") == std::string::npos);
    bool created = false;
    auto first = s.redeem_code("13800138000", *code, &created);
    REQUIRE(first);
    CHECK(created);
    CHECK(first->patient_id.size() == 25);
    CHECK(first->patient_id[0] == 'P');
    CHECK(s.redeem_code("13800138000", *code).error().code == "auth.no_code");  // used up

    // The same phone again is the same patient; another phone another one.
    auto again_code = s.issue_code("13800138000");
    created = false;
    auto again = s.redeem_code("13800138000", *again_code, &created);
    REQUIRE(again);
    CHECK_FALSE(created);
    CHECK(again->patient_id == first->patient_id);
    auto other = s.redeem_code("13900139000", *s.issue_code("13900139000"));
    REQUIRE(other);
    CHECK(other->patient_id != first->patient_id);

    // Expired: 5 minutes after it was issued.
    auto late = s.issue_code("13800138000");
    clock.advance(300s);
    CHECK(s.redeem_code("13800138000", *late).error().code == "auth.code_expired");
    CHECK(s.redeem_code("13800138000", *late).error().code == "auth.no_code");

    // Five wrong tries: the fifth takes the code away; the right code then finds none.
    auto right = s.issue_code("13800138000");
    std::string wrong = *right == "000000" ? "000001" : "000000";
    for (int i = 1; i <= 4; ++i) {
        auto r = s.redeem_code("13800138000", wrong);
        CHECK(r.error().code == "auth.code_wrong");
        CHECK_THAT(r.error().message, Catch::Contains(std::to_string(5 - i) + " more tries"));
    }
    CHECK(s.redeem_code("13800138000", wrong).error().code == "auth.code_locked");
    CHECK(s.redeem_code("13800138000", *right).error().code == "auth.no_code");

    CHECK(s.account("P000000000000000000000000").error().code == "patient.unknown");
}

TEST_CASE("portal: a session is open until signed out or expired, for its own patient, on every store of the file") {
    ManualClock clock;
    const std::string db = portal_test_db("sessions.db");
    auto store = portal::open_sqlite_sign_in_store(db, clock);
    auto other_instance = portal::open_sqlite_sign_in_store(db, clock);  // a second control plane
    REQUIRE(store);
    REQUIRE(other_instance);
    auto& s = **store;
    auto now = [&] { return std::chrono::floor<std::chrono::seconds>(clock.wall_now()); };

    auto a = s.open_session("P-A", now() + 30min);
    auto b = s.open_session("P-A", now() + 30min);  // the same patient on another phone
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->size() == 32);
    CHECK(a->find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(*a != *b);
    CHECK(*s.session_open(*a, "P-A"));
    CHECK(*(*other_instance)->session_open(*a, "P-A"));
    CHECK_FALSE(*s.session_open(*a, "P-B"));  // a session id is its patient's only
    CHECK_FALSE(*s.session_open("00000000000000000000000000000000", "P-A"));

    // Signed out on one instance: closed on both; the patient's other session stays open.
    REQUIRE((*other_instance)->close_session(*a));
    CHECK_FALSE(*s.session_open(*a, "P-A"));
    CHECK(*s.session_open(*b, "P-A"));
    REQUIRE(s.close_session(*a));  // twice is no error
    REQUIRE(s.extend_session(*a, now() + 1h));  // a closed session is not reopened
    CHECK_FALSE(*s.session_open(*a, "P-A"));

    // Expiry: a renewal moves it; past it the session is closed.
    clock.advance(20min);
    REQUIRE(s.extend_session(*b, now() + 30min));
    clock.advance(29min);
    CHECK(*s.session_open(*b, "P-A"));
    clock.advance(1min);
    CHECK_FALSE(*s.session_open(*b, "P-A"));
}

TEST_CASE("portal: the rate limiter counts per key and window, says how long to wait, and is one count for every instance") {
    ManualClock clock;
    const std::string db = portal_test_db("limits.db");
    auto opened = portal::open_sqlite_rate_limiter(db, clock, 3);
    auto other = portal::open_sqlite_rate_limiter(db, clock, 3);  // a second control-plane instance
    REQUIRE((opened && other));
    auto& limiter = **opened;
    portal::RateLimit one_a_minute{1, 60s};
    auto take = [&](portal::RateLimiter& l, const std::string& key) {
        auto wait = l.take(key, one_a_minute);
        REQUIRE(wait);
        return *wait;
    };
    CHECK_FALSE(take(limiter, "phone:a"));
    auto wait = take(**other, "phone:a");  // the other instance sees the count: no second try there
    REQUIRE(wait);
    CHECK(*wait == 60s);
    clock.advance(45s);
    CHECK(*take(limiter, "phone:a") == 15s);
    CHECK_FALSE(take(limiter, "phone:b"));  // another key has its own window
    clock.advance(15s);
    CHECK_FALSE(take(limiter, "phone:a"));  // the window reopened
    // Full of live keys: a new key is refused, never a live one forgotten.
    CHECK_FALSE(take(**other, "phone:c"));
    CHECK(take(limiter, "phone:d"));
    // The windows are in the file: a restarted instance keeps counting.
    opened->reset();
    auto reopened = portal::open_sqlite_rate_limiter(db, clock, 3);
    REQUIRE(reopened);
    CHECK(take(**reopened, "phone:c"));
    clock.advance(61s);
    CHECK_FALSE(take(**reopened, "phone:d"));  // expired windows made room
    // The kept key count follows the rows: 3 expired dropped, "phone:d" added.
    auto file = sql::Db::open(db);
    REQUIRE(file);
    auto rows = file->prepare("SELECT (SELECT n FROM rate_window_keys), (SELECT count(*) FROM rate_windows)");
    REQUIRE(rows);
    REQUIRE(rows->step());
    CHECK(rows->integer(0) == 1);
    CHECK(rows->integer(1) == 1);
}

TEST_CASE("portal: a rate-limit file without the kept key count gets it from its rows, and stays bounded") {
    ManualClock clock;
    const std::string db = portal_test_db("limits-old.db");
    {  // the file as a version before the count left it: two live windows
        auto file = sql::Db::open(db);
        REQUIRE(file);
        REQUIRE(file->exec("CREATE TABLE rate_windows(key TEXT PRIMARY KEY, started_ms INTEGER NOT NULL, "
                           "length_ms INTEGER NOT NULL, count INTEGER NOT NULL)"));
        REQUIRE(file->exec("INSERT INTO rate_windows VALUES('phone:a', " + std::to_string(clock.wall_ms()) +
                           ", 60000, 1), ('phone:b', " + std::to_string(clock.wall_ms()) + ", 60000, 1)"));
    }
    auto limiter = portal::open_sqlite_rate_limiter(db, clock, 3);
    REQUIRE(limiter);
    portal::RateLimit one_a_minute{1, 60s};
    auto c = (*limiter)->take("phone:c", one_a_minute);
    REQUIRE(c);
    CHECK_FALSE(*c);  // the third key fits
    auto d = (*limiter)->take("phone:d", one_a_minute);
    REQUIRE(d);
    CHECK(*d);  // a fourth does not: the two old rows were counted
}

TEST_CASE("console: sign-in tries from one client address are limited per 10 minutes and allowed again once the window passes") {
    PortalLimitRig rig;
    auto& clock = rig.clock;
    auto& keys = rig.keys;
    auto portal_api = rig.portal_api();
    console::ConsoleSettings settings;
    settings.sign_ins_per_address = 3;
    settings.trusted_proxies = {*IpRange::parse("127.0.0.1")};  // the test's requests come through "our proxy"
    console::ConsoleSession console_session(portal_api, *rig.accounts, *keys, *rig.limiter, clock, settings);
    std::vector<std::string> by;  // whom each answer named for the audit log ("" nobody)
    HttpServer server("127.0.0.1", 0, [&](auto& req, auto& res) {
        auto who = console_session.handle(req, res);
        by.push_back(who ? who->subject : "");
    });
    REQUIRE(server.start());
    auto now = std::chrono::floor<std::chrono::seconds>(clock.wall_now());
    auto token = auth::issue_token(*keys, {auth::Role::Operator, "alice", now + 1h, ""}, now);
    REQUIRE(token);
    const std::string body = nlohmann::json{{"token", *token}}.dump();
    auto sign_in = [&](const std::string& forwarded_for, const std::string& with = "") {
        return test::http_send(server.port(), "POST", "/api/v1/console/session", with.empty() ? body : with,
                               {{"X-Forwarded-For", forwarded_for}});
    };

    for (int i = 0; i < 3; ++i) CHECK(sign_in("198.51.100.7").status == 200);
    auto limited = sign_in("198.51.100.7");
    INFO(limited.body);
    CHECK(limited.status == 429);
    CHECK(limited.code() == "auth.rate_limited");
    CHECK(limited.headers["Retry-After"] == "600");
    CHECK(nlohmann::json::parse(limited.body)["retry_after_s"] == 600);
    CHECK(limited.set_cookies.empty());  // no session opened
    CHECK(by.back() == "alice");         // a staff token's refusal is audited by whom it names
    // A name the client put left of the proxy's own hop changes nothing; a bad token is
    // refused the same, by nobody; another client behind the proxy has its own count.
    CHECK(sign_in("10.9.9.9, 198.51.100.7").status == 429);
    CHECK(sign_in("198.51.100.7", R"({"token": "x"})").status == 429);
    CHECK(by.back().empty());
    CHECK(sign_in("203.0.113.9").status == 200);

    // The window is 10 minutes from the first try: a second before its end, still refused,
    // saying so; at its end, allowed again.
    clock.advance(599s);
    auto last = sign_in("198.51.100.7");
    CHECK(last.status == 429);
    CHECK(last.headers["Retry-After"] == "1");
    clock.advance(1s);
    CHECK(sign_in("198.51.100.7").status == 200);
    server.stop();
}

TEST_CASE("portal: the per-address sign-in limits count each client behind a trusted proxy apart, not the proxy") {
    PortalLimitRig rig;
    portal::PortalSettings settings;
    settings.verifies_per_address = 2;
    settings.trusted_proxies = {*IpRange::parse("127.0.0.1")};  // the test's requests come through "our proxy"
    auto portal_api = rig.portal_api(settings);
    HttpServer server("127.0.0.1", 0, [&](auto& req, auto& res) { portal_api.handle_public("auth_verify", req, res); });
    REQUIRE(server.start());
    auto verify = [&](const std::string& forwarded_for) {
        return test::http_send(server.port(), "POST", "/api/v1/auth/verify", R"({"phone": "13800138000", "code": "000000"})",
                               {{"X-Forwarded-For", forwarded_for}});
    };
    for (int i = 0; i < 2; ++i) CHECK(verify("198.51.100.7").status != 429);
    auto limited = verify("198.51.100.7");
    CHECK(limited.status == 429);
    CHECK(limited.code() == "auth.rate_limited");
    CHECK(verify("203.0.113.9").status != 429);  // another patient behind the same proxy
    server.stop();
}

TEST_CASE("notify: a relay outage delays messages and loses none, and a booking queues its confirmation and reminder once") {
    ManualClock clock(std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + 2h);  // 10:00 in China
    const std::string db = portal_test_db("notify.db");
    auto outbox = notify::open_sqlite_outbox(db);
    auto accounts = portal::open_sqlite_sign_in_store(db, clock);
    REQUIRE(outbox);
    REQUIRE(accounts);
    PortalTestSender sender;
    notify::NotifySettings settings;
    settings.sms_domain = "sms.example";
    settings.max_backoff = 8s;
    notify::Notifier notifier(**outbox, sender, **accounts, clock, settings);

    REQUIRE(notifier.sign_in_code("13800138000", "123456", "zh-CN"));
    CHECK(notifier.relay_once() == 0);  // the relay is down: it stays
    CHECK(*(*outbox)->waiting() == 1);
    CHECK(notifier.relay_once() == 0);  // not due again before its pause (1 s)
    CHECK(sender.tries == 1);
    clock.advance(1s);
    CHECK(notifier.relay_once() == 0);
    CHECK(sender.tries == 2);
    sender.up = true;
    CHECK(notifier.relay_once() == 0);  // the pause doubled: 2 s
    clock.advance(2s);
    CHECK(notifier.relay_once() == 1);
    REQUIRE(sender.sent.size() == 1);
    CHECK(sender.sent[0].to == "13800138000@sms.example");
    CHECK_THAT(sender.sent[0].body, Catch::Contains("123456"));
    CHECK_THAT(sender.sent[0].subject, Catch::Contains("验证码"));
    CHECK(*(*outbox)->waiting() == 0);

    // A patient with an account, email and English: a booking for tomorrow.
    auto code = (*accounts)->issue_code("13900139000");
    auto account = (*accounts)->redeem_code("13900139000", *code);
    REQUIRE(account);
    REQUIRE((*accounts)->set_contact(account->patient_id, "li@example.com", "en"));
    BookingNote booking{"req-1", "H001", account->patient_id, "O-1", "DR-101", "D-INT", "2026-12-07", "AM", "first"};
    REQUIRE(notifier.booking_confirmed(booking));
    REQUIRE(notifier.booking_confirmed(booking));  // noted again: nothing new
    CHECK(*(*outbox)->waiting() == 4);             // confirmation and reminder, by SMS and email
    sender.sent.clear();
    CHECK(notifier.relay_once() == 2);  // the confirmations now
    std::set<std::string> to;
    for (const auto& m : sender.sent) {
        to.insert(m.to);
        CHECK(m.subject == "hisgate: appointment confirmed");
        CHECK_THAT(m.body, Catch::Contains("2026-12-07 morning") && Catch::Contains("DR-101"));
    }
    CHECK(to == std::set<std::string>{"13900139000@sms.example", "li@example.com"});
    // The reminder: 18:00 in China (10:00 UTC) the day before.
    CHECK(*(*outbox)->next_due_ms() ==
          std::chrono::duration_cast<std::chrono::milliseconds>(
              (std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + 10h).time_since_epoch())
              .count());
    clock.advance(7h + 59min);
    CHECK(notifier.relay_once() == 0);
    clock.advance(1min);
    sender.sent.clear();
    CHECK(notifier.relay_once() == 2);
    CHECK(sender.sent[0].subject == "hisgate: your appointment is tomorrow");

    // A booking whose reminder time has passed gets its confirmation only; a patient the
    // portal does not know gets nothing.
    BookingNote today{"req-2", "H001", account->patient_id, "O-2", "DR-101", "D-INT", "2026-12-06", "PM", "first"};
    REQUIRE(notifier.booking_confirmed(today));
    CHECK(*(*outbox)->waiting() == 2);
    BookingNote stranger{"req-3", "H001", "P-DEMO-1", "O-3", "DR-101", "D-INT", "2026-12-09", "PM", "first"};
    REQUIRE(notifier.booking_confirmed(stranger));
    CHECK(*(*outbox)->waiting() == 2);

    // Two instances relaying one outbox file: a message claimed by one is not the other's
    // until its lease ends (it is sent once, or again only if the first died mid-send).
    auto second = notify::open_sqlite_outbox(db);
    REQUIRE(second);
    const int64_t now = clock.wall_ms();
    auto claimed = (*outbox)->due(now, 10, 60000);
    REQUIRE(claimed);
    CHECK(claimed->size() == 2);
    CHECK((*second)->due(now, 10, 60000)->empty());
    CHECK((*second)->due(now + 60000, 10, 60000)->size() == 2);
}

TEST_CASE("openapi: the document lists every route the server matches and no other") {
    auto doc = nlohmann::json::parse(controlplane::Api::openapi_json());
    CHECK(doc["openapi"].get<std::string>().starts_with("3."));
    // Templates are compared with their parameter names blanked: {hospitalId} == {id}.
    auto shape = [](const std::string& path) {
        std::string out;
        for (const auto& seg : route_segments(path))
            out += "/" + (seg.front() == '{' ? std::string("{}") : seg);
        return out;
    };
    std::set<std::string> served, documented;
    for (const auto& r : controlplane::Api::all_routes()) {
        std::string allow = r.allow;
        for (size_t i = 0; i < allow.size();) {
            size_t comma = allow.find(',', i);
            if (comma == std::string::npos) comma = allow.size();
            std::string m = allow.substr(i, comma - i);
            m.erase(0, m.find_first_not_of(' '));
            if (m != "HEAD") served.insert(m + " " + shape(r.path) + " " + r.name);
            i = comma + 1;
        }
    }
    for (const auto& [path, item] : doc["paths"].items()) {
        for (const auto& [method, op] : item.items()) {
            if (method == "parameters") continue;
            std::string upper = method;
            for (auto& c : upper) c = static_cast<char>(std::toupper(c));
            documented.insert(upper + " " + shape(path) + " " + op.value("x-route", "?"));
            // The documented path, made concrete, is matched to the route it names.
            std::vector<std::string> parts;
            for (const auto& seg : route_segments(path)) parts.push_back(seg.front() == '{' ? "x1" : seg);
            auto matched = match_route(controlplane::Api::all_routes(), parts);
            INFO(path);
            REQUIRE(matched);
            CHECK(matched->name == op.value("x-route", "?"));
        }
    }
    std::vector<std::string> undocumented, unserved;
    std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(), std::back_inserter(undocumented));
    std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(), std::back_inserter(unserved));
    INFO("served but not documented: " << nlohmann::json(undocumented).dump());
    INFO("documented but not served: " << nlohmann::json(unserved).dump());
    CHECK(undocumented.empty());
    CHECK(unserved.empty());
    CHECK(served.size() > 40);
}
