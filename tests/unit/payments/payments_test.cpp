// The control plane's payment pieces in-process: the signed notification's check (every
// refusal, counted), the provider's bill parser (every bad line, named), and pay-sim's
// Notifier retrying on an injected ManualClock against a real loopback HTTP receiver, its
// senders sending at once over kept connections.
#include <catch2/catch.hpp>

#include <Poco/String.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "controlplane/payments/bill.h"
#include "controlplane/payments/notification.h"
#include "pay-sim/notifier.h"
#include "tests/support/running_pay_sim.h"

using namespace hisgate;
using namespace hisgate::payments;

namespace {

const std::string kKey = "0123456789abcdef-test-merchant-key";
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600));  // 2026-01-01

PaymentNotification sample() {
    PaymentNotification n;
    n.event_id = "ev1";
    n.out_trade_no = "0123456789abcdef0123456789abcdef";
    n.transaction_id = "tx1";
    n.trade_state = "SUCCESS";
    n.amount_fen = 1250;
    n.success_time = "2026-01-01T00:00:00.000Z";
    return n;
}

std::map<std::string, std::string> signed_headers(const std::string& body, int64_t ts = 1'767'225'600,
                                                  const std::string& key = kKey) {
    std::string t = std::to_string(ts);
    return {{kTimestampHeader, t}, {kNonceHeader, "abc123"}, {kSignatureHeader, sign_notification(key, t, "abc123", body)}};
}

std::string code_of(const Result<PaymentNotification>& r) { return r.ok() ? "ok" : r.error().code; }

double refused(const std::string& reason) {
    auto page = metrics::global().render();
    return test::metric_value(page, "hisgate_payment_notifications_total{outcome=\"refused\",reason=\"" + reason + "\"}");
}

}  // namespace

TEST_CASE("verify_notification accepts a well-signed notification, header names in any case") {
    std::string body = notification_body(sample(), "2026-01-01T00:00:00.000Z");
    auto h = signed_headers(body);
    auto ok = verify_notification(h, body, kKey, kNow);
    REQUIRE(ok.ok());
    CHECK(ok->out_trade_no == sample().out_trade_no);
    CHECK(ok->amount_fen == 1250);
    std::map<std::string, std::string> lower;
    for (auto& [k, v] : h) lower[Poco::toLower(k)] = k == kSignatureHeader ? Poco::toUpper(v) : v;
    CHECK(verify_notification(lower, body, kKey, kNow).ok());
    // Within the skew either way.
    CHECK(verify_notification(h, body, kKey, kNow + std::chrono::seconds(300)).ok());
    CHECK(verify_notification(h, body, kKey, kNow - std::chrono::seconds(300)).ok());
}

TEST_CASE("verify_notification refuses bad headers, signatures, stale times and bodies, and counts each") {
    std::string body = notification_body(sample(), "2026-01-01T00:00:00.000Z");
    auto h = signed_headers(body);
    for (const char* name : {kTimestampHeader, kNonceHeader, kSignatureHeader}) {
        auto missing = h;
        missing.erase(name);
        auto r = verify_notification(missing, body, kKey, kNow);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "notification.missing_header");
        CHECK(r.error().message.find(name) != std::string::npos);
    }
    auto with = [&](const char* name, const std::string& value) {
        auto c = h;
        c[name] = value;
        return code_of(verify_notification(c, body, kKey, kNow));
    };
    CHECK(with(kTimestampHeader, "12a") == "notification.bad_header");
    CHECK(with(kTimestampHeader, "") == "notification.bad_header");
    CHECK(with(kTimestampHeader, "1234567890123") == "notification.bad_header");
    CHECK(with(kNonceHeader, "a b") == "notification.bad_header");
    CHECK(with(kNonceHeader, std::string(65, 'a')) == "notification.bad_header");
    CHECK(with(kSignatureHeader, "zz") == "notification.bad_header");
    CHECK(with(kSignatureHeader, std::string(64, 'g')) == "notification.bad_header");

    double before = refused("notification.bad_signature");
    CHECK(with(kSignatureHeader, std::string(64, 'a')) == "notification.bad_signature");
    CHECK(code_of(verify_notification(h, body, "another-key-of-enough-bytes", kNow)) == "notification.bad_signature");
    CHECK(refused("notification.bad_signature") == before + 2);
    // The timestamp is signed: moving it breaks the signature before staleness is asked.
    CHECK(with(kTimestampHeader, "1767225601") == "notification.bad_signature");

    auto r = verify_notification(h, body, kKey, kNow + std::chrono::seconds(301));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "notification.stale");
    CHECK(r.error().cls == ErrorClass::Rejected);
    CHECK(code_of(verify_notification(h, body, kKey, kNow - std::chrono::seconds(301))) == "notification.stale");

    std::string big(17 * 1024, ' ');
    CHECK(code_of(verify_notification(signed_headers(big), big, kKey, kNow)) == "notification.too_large");
}

TEST_CASE("verify_notification refuses a well-signed body of the wrong shape, naming the field") {
    auto check = [](const std::string& body, const std::string& code, const std::string& field = "") {
        auto r = verify_notification(signed_headers(body), body, kKey, kNow);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == code);
        CHECK(r.error().cls == ErrorClass::BadInput);
        if (!field.empty()) CHECK(r.error().message.find(field) != std::string::npos);
    };
    auto doc = nlohmann::json::parse(notification_body(sample(), "t"));
    check("not json", "notification.invalid");
    check(std::string(40, '[') + std::string(40, ']'), "notification.too_deep");
    check("[1]", "notification.bad_field", "the body");
    auto without = [&](const nlohmann::json::json_pointer& p, const nlohmann::json& value) {
        auto d = doc;
        d[p] = value;
        return d.dump();
    };
    check(without(nlohmann::json::json_pointer("/resource/amount/total"), 0), "notification.bad_field", "resource.amount.total");
    check(without(nlohmann::json::json_pointer("/resource/amount/total"), -5), "notification.bad_field", "resource.amount.total");
    check(without(nlohmann::json::json_pointer("/resource/amount/total"), 12.5), "notification.bad_field", "resource.amount.total");
    check(without(nlohmann::json::json_pointer("/resource/amount/total"), "1250"), "notification.bad_field", "resource.amount.total");
    check(without(nlohmann::json::json_pointer("/resource/amount/currency"), "USD"), "notification.bad_field", "currency");
    check(without(nlohmann::json::json_pointer("/resource/out_trade_no"), "a/b"), "notification.bad_field", "out_trade_no");
    check(without(nlohmann::json::json_pointer("/resource/out_trade_no"), std::string(65, 'a')), "notification.bad_field",
          "out_trade_no");
    check(without(nlohmann::json::json_pointer("/resource"), "x"), "notification.bad_field", "resource");
    check(without(nlohmann::json::json_pointer("/id"), 7), "notification.bad_field", "id");
}

TEST_CASE("the provider's bill: written and read back, CRLF too") {
    std::vector<ledger::ProviderLine> lines = {{"a1", "payment", 1250, "2026-01-05T08:00:01.000Z", ""},
                                               {"a1", "refund", 250, "2026-01-05T09:00:01.000Z", "r-1"}};
    auto text = bill_csv(lines);
    auto back = parse_bill_csv(text);
    REQUIRE(back.ok());
    REQUIRE(back->size() == 2);
    CHECK(back->at(1).out_refund_no == "r-1");
    CHECK(back->at(1).amount_fen == 250);
    std::string crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    auto again = parse_bill_csv(crlf);
    REQUIRE(again.ok());
    CHECK(again->size() == 2);
    CHECK(parse_bill_csv(std::string(kBillHeader) + "\n")->empty());
    CHECK(parse_bill_csv(kBillHeader)->empty());
}

TEST_CASE("the provider's bill: each bad line refused, naming its number and column") {
    auto bad = [](const std::string& body_line, const std::string& column) {
        auto r = parse_bill_csv(std::string(kBillHeader) + "\na1,payment,100,2026-01-05T08:00:01.000Z,\n" + body_line + "\n");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "bill.bad_line");
        CHECK(r.error().message.find("line 3") != std::string::npos);
        CHECK(r.error().message.find(column) != std::string::npos);
    };
    bad("a2,payment,100,2026-01-05T08:00:01.000Z", "5 comma-separated fields");
    bad("a2,payment,100,2026-01-05T08:00:01.000Z,,", "5 comma-separated fields");
    bad("a/2,payment,100,2026-01-05T08:00:01.000Z,", "out_trade_no");
    bad("a2,chargeback,100,2026-01-05T08:00:01.000Z,", "kind");
    bad("a2,payment,12.5,2026-01-05T08:00:01.000Z,", "amount_fen");
    bad("a2,payment,0,2026-01-05T08:00:01.000Z,", "amount_fen");
    bad("a2,payment,-1,2026-01-05T08:00:01.000Z,", "amount_fen");
    bad("a2,payment,,2026-01-05T08:00:01.000Z,", "amount_fen");
    bad("a2,payment,99999999999999999999,2026-01-05T08:00:01.000Z,", "amount_fen");
    bad("a2,payment,100,yesterday,", "time");
    bad("a2,payment,100,2026-01-05T08:00:01.000Z,r1", "out_refund_no");
    bad("a2,refund,100,2026-01-05T08:00:01.000Z,", "out_refund_no");
    bad("", "empty line");

    auto header = parse_bill_csv("out_trade_no,kind,amount\n");
    REQUIRE_FALSE(header.ok());
    CHECK(header.error().code == "bill.bad_header");
    CHECK(parse_bill_csv("").error().code == "bill.bad_header");
    auto big = parse_bill_csv(std::string(kBillHeader) + "\n" + std::string(100, 'x'), {.max_bytes = 64});
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == "bill.too_large");
    std::string many = std::string(kBillHeader) + "\n";
    for (int i = 0; i < 3; ++i) many += "a" + std::to_string(i) + ",payment,1,2026-01-05T08:00:01.000Z,\n";
    CHECK(parse_bill_csv(many, {.max_lines = 2}).error().code == "bill.bad_line");
}

TEST_CASE("pay-sim's Notifier: retries on the injected clock, doubling, and a late one waits for its time") {
    ManualClock clock;
    test::NotificationSink sink;
    paysim::Notifier notifier(clock, kKey, {.max_attempts = 4, .first_retry = std::chrono::seconds(1), .retry_cap = std::chrono::seconds(2)});
    notifier.start();
    REQUIRE(clock.await_waiters(1));
    sink.refuse_next(2);
    notifier.post({"o1", sink.url(), notification_body(sample(), "t")});
    // Attempt 1 fails; the retry waits for 1 s of the clock's time.
    REQUIRE(test::eventually([&] { return notifier.stats().failed_attempts == 1 && notifier.stats().pending == 1; }));
    REQUIRE(clock.await_waiters(1));
    clock.advance(std::chrono::milliseconds(999));
    REQUIRE(clock.await_waiters(1));
    CHECK(notifier.stats().attempts == 1);
    clock.advance(std::chrono::milliseconds(1));
    // Attempt 2 fails; the next waits 2 s (doubled, at the cap).
    REQUIRE(test::eventually([&] { return notifier.stats().failed_attempts == 2 && notifier.stats().pending == 1; }));
    REQUIRE(clock.await_waiters(1));
    clock.advance(std::chrono::milliseconds(1999));
    REQUIRE(clock.await_waiters(1));
    CHECK(notifier.stats().attempts == 2);
    clock.advance(std::chrono::milliseconds(1));
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 1; }));
    CHECK(notifier.stats().attempts == 3);
    auto got = sink.received();
    REQUIRE(got.size() == 1);
    // Signed at the clock's wall time, so it verifies against that time.
    CHECK(verify_notification(got[0].headers, got[0].body, kKey, clock.wall_now()).ok());

    // A late one: nothing until its delay has passed on the clock.
    notifier.post({"o2", sink.url(), notification_body(sample(), "t")}, std::chrono::seconds(30));
    REQUIRE(test::eventually([&] { return notifier.stats().pending == 1; }));
    REQUIRE(clock.await_waiters(1));
    clock.advance(std::chrono::seconds(29));
    REQUIRE(clock.await_waiters(1));
    CHECK(notifier.stats().attempts == 3);
    clock.advance(std::chrono::seconds(1));
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 2; }));
    notifier.stop();
}

namespace {
// A notify_url that keeps each request until `gate` of them are in at once (or a real-time
// bound passes), so a test sees how many a Notifier sends at once, and notes the client
// address (the connection) each came over.
class GatedReceiver {
public:
    explicit GatedReceiver(int gate, HttpLimits limits = {})
        : gate_(gate),
          server_("127.0.0.1", 0, [this](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
              auto body = read_body(req, 64 * 1024, "a notification");
              {
                  std::unique_lock lock(mu_);
                  ++in_flight_;
                  most_at_once_ = std::max(most_at_once_, in_flight_);
                  if (in_flight_ >= gate_) opened_ = true;
                  cv_.notify_all();
                  cv_.wait_for(lock, std::chrono::seconds(5), [&] { return opened_; });
                  --in_flight_;
                  bodies_.push_back(body ? body.value() : "");
                  connections_.insert(req.clientAddress().toString());
              }
              send_text(res, 200, "application/json", R"({"code":"SUCCESS"})");
          }, limits) {
        REQUIRE(server_.start().ok());
    }
    ~GatedReceiver() { server_.stop(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/payments/notify"; }
    int most_at_once() {
        std::lock_guard lock(mu_);
        return most_at_once_;
    }
    std::vector<std::string> bodies() {
        std::lock_guard lock(mu_);
        return bodies_;
    }
    size_t connections() {
        std::lock_guard lock(mu_);
        return connections_.size();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int gate_;
    int in_flight_ = 0, most_at_once_ = 0;
    bool opened_ = false;
    std::vector<std::string> bodies_;
    std::set<std::string> connections_;
    HttpServer server_;
};

std::string body_for(const std::string& out_trade_no) {
    auto n = sample();
    n.out_trade_no = out_trade_no;
    return notification_body(n, "t");
}
}  // namespace

TEST_CASE("pay-sim's Notifier: its senders send at once, each over one kept connection, each notification once") {
    ManualClock clock;
    GatedReceiver receiver(4);
    paysim::Notifier notifier(clock, kKey, {.senders = 4});
    notifier.start();
    std::set<std::string> sent;
    for (int i = 0; i < 12; ++i) {
        std::string no = "o" + std::to_string(i);
        sent.insert(body_for(no));
        notifier.post({no, receiver.url(), body_for(no)});
    }
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 12; }));
    auto s = notifier.stats();
    CHECK(s.attempts == 12);
    CHECK(s.failed_attempts == 0);
    CHECK(receiver.most_at_once() == 4);  // all four senders at once, never more
    CHECK(receiver.connections() <= 4);   // 12 notifications over the senders' kept connections
    auto got = receiver.bodies();
    CHECK(got.size() == 12);
    CHECK(std::set<std::string>(got.begin(), got.end()) == sent);  // each one, in whatever order
    notifier.stop();
}

TEST_CASE("pay-sim's Notifier: a kept connection the receiver closed is opened anew within the same attempt") {
    ManualClock clock;
    HttpLimits limits;
    limits.keep_alive_timeout = std::chrono::seconds(1);  // the receiver drops an idle connection after 1 s
    GatedReceiver receiver(1, limits);
    paysim::Notifier notifier(clock, kKey, {.senders = 1, .keep_alive = std::chrono::seconds(30)});
    notifier.start();
    notifier.post({"o1", receiver.url(), body_for("o1")});
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 1; }));
    // Real time: the receiver's idle limit is the network's, not the injected clock's.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    notifier.post({"o2", receiver.url(), body_for("o2")});
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 2; }));
    notifier.post({"o3", receiver.url(), body_for("o3")});
    REQUIRE(test::eventually([&] { return notifier.stats().delivered == 3; }));
    auto s = notifier.stats();
    CHECK(s.attempts == 3);
    CHECK(s.failed_attempts == 0);       // the closed connection cost no attempt and no retry wait
    CHECK(receiver.connections() == 2);  // o1 on the first; o2 and o3 on the one opened anew
    CHECK(receiver.bodies().size() == 3);
    notifier.stop();
}
