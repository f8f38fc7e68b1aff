// hisgate-pay-sim as a real process, driven through real HTTP: every provider call, every
// fault armed through its control API, the signed notification received by a real HTTP
// server in the test and checked with the control plane's verify_notification, and the
// control plane's PaySimProvider closing and refunding against it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/metrics.h"
#include "common/utc_time.h"
#include "common/random_id.h"
#include "controlplane/payments/bill.h"
#include "controlplane/payments/notification.h"
#include "controlplane/payments/pay_sim_provider.h"
#include "tests/support/raw_socket.h"
#include "tests/support/running_pay_sim.h"

using namespace hisgate;
using namespace hisgate::payments;

namespace {

// What the provider's sinks received, as the owner of a Confirmer would see it.
struct Answers {
    std::mutex mu;
    std::map<std::string, std::vector<ledger::CloseOutcome>> closes;
    std::map<std::string, std::vector<bool>> refunds;
    std::map<std::string, std::vector<Error>> failures;

    PaymentSinks sinks() {
        return {[this](const std::string& id, ledger::CloseOutcome o) {
                    std::lock_guard lock(mu);
                    closes[id].push_back(o);
                },
                [this](const std::string& id, bool refunded) {
                    std::lock_guard lock(mu);
                    refunds[id].push_back(refunded);
                },
                [this](const std::string& id, const Error& e) {
                    std::lock_guard lock(mu);
                    failures[id].push_back(e);
                }};
    }
    template <class F>
    auto read(F f) {
        std::lock_guard lock(mu);
        return f();
    }
};

struct Fixture {
    test::RunningPaySim sim;
    test::NotificationSink sink;
    Answers answers;
    PaySimProvider provider;

    explicit Fixture(const nlohmann::json& config = {{"notify", {{"first_retry_ms", 50}, {"retry_cap_ms", 200}}}})
        : sim(config), provider(PaySimAddress{"127.0.0.1", sim.port}, answers.sinks()) {}

    // A new order of `fen`; its prepay id.
    std::pair<std::string, std::string> order(int64_t fen = 1250) {
        std::string id = new_id();
        auto prepay = provider.create_order({id, fen, "CNY", "outpatient fee", sink.url()});
        REQUIRE(prepay.ok());
        return {id, prepay.value()};
    }
    test::HttpReply checkout(const std::string& prepay_id) {
        return test::http_send(sim.port, "POST", "/v3/checkout/" + prepay_id, "");
    }
    std::string state(const std::string& id) {
        auto s = provider.query(id);
        REQUIRE(s.ok());
        return s->trade_state;
    }
    std::optional<ledger::CloseOutcome> closed(const std::string& id) {
        provider.close(id);
        bool got = test::eventually([&] { return answers.read([&] { return !answers.closes[id].empty() || !answers.failures[id].empty(); }); });
        REQUIRE(got);
        return answers.read([&]() -> std::optional<ledger::CloseOutcome> {
            if (answers.closes[id].empty()) return std::nullopt;
            return answers.closes[id].back();
        });
    }
    // Sends a refund and waits for the sinks: refunded true/false, or nullopt (failed only).
    std::optional<bool> refunded(const std::string& id, int64_t fen) {
        size_t before_r = answers.read([&] { return answers.refunds[id].size(); });
        size_t before_f = answers.read([&] { return answers.failures[id].size(); });
        provider.refund(id, fen);
        REQUIRE(test::eventually([&] {
            return answers.read([&] { return answers.refunds[id].size() > before_r || answers.failures[id].size() > before_f; });
        }));
        return answers.read([&]() -> std::optional<bool> {
            if (answers.refunds[id].size() > before_r) return answers.refunds[id].back();
            return std::nullopt;
        });
    }
    std::vector<ledger::ProviderLine> bill_today() {
        auto r = test::http_get(sim.port, "/v3/bill?date=" + utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"));
        REQUIRE(r.status == 200);
        auto lines = parse_bill_csv(r.body);
        REQUIRE(lines.ok());
        return lines.value();
    }
};

std::string create_body(const std::string& id, const nlohmann::json& amount, const std::string& url = "http://127.0.0.1:9/n") {
    return nlohmann::json{{"out_trade_no", id}, {"description", "fee"}, {"notify_url", url}, {"amount", amount}}.dump();
}

}  // namespace

TEST_CASE("pay-sim: an order created, paid at checkout, notified with a signature the control plane verifies, queried, refunded, billed") {
    Fixture f;
    auto [id, prepay] = f.order(1250);
    // The same create again is a retry: the same prepay id. Other fields: refused, named.
    auto again = f.provider.create_order({id, 1250, "CNY", "outpatient fee", f.sink.url()});
    REQUIRE(again.ok());
    CHECK(again.value() == prepay);
    auto other = f.provider.create_order({id, 1300, "CNY", "outpatient fee", f.sink.url()});
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == "OUT_TRADE_NO_USED");
    CHECK(other.error().cls == ErrorClass::Rejected);
    CHECK(other.error().message.find("amount.total") != std::string::npos);

    CHECK(f.state(id) == "NOTPAY");
    auto paid = f.checkout(prepay);
    REQUIRE(paid.status == 200);
    CHECK(nlohmann::json::parse(paid.body)["trade_state"] == "SUCCESS");
    CHECK(f.checkout(prepay).status == 200);  // paying twice is the same payment

    REQUIRE(test::eventually([&] { return f.sink.for_order(id).size() == 1; }));
    auto n = f.sink.for_order(id)[0];
    auto verified = verify_notification(n.headers, n.body, f.sim.key, std::chrono::system_clock::now());
    REQUIRE(verified.ok());
    CHECK(verified->out_trade_no == id);
    CHECK(verified->amount_fen == 1250);
    CHECK(verified->trade_state == "SUCCESS");
    CHECK(verified->currency == "CNY");

    // The same notification refused: another key, a changed body, replayed an hour later.
    auto wrong_key = verify_notification(n.headers, n.body, random_hex(32), std::chrono::system_clock::now());
    REQUIRE_FALSE(wrong_key.ok());
    CHECK(wrong_key.error().code == "notification.bad_signature");
    CHECK(wrong_key.error().cls == ErrorClass::Rejected);
    std::string tampered = n.body;
    tampered.replace(tampered.find("1250"), 4, "9250");
    auto changed = verify_notification(n.headers, tampered, f.sim.key, std::chrono::system_clock::now());
    REQUIRE_FALSE(changed.ok());
    CHECK(changed.error().code == "notification.bad_signature");
    auto replayed = verify_notification(n.headers, n.body, f.sim.key, std::chrono::system_clock::now() + std::chrono::hours(1));
    REQUIRE_FALSE(replayed.ok());
    CHECK(replayed.error().code == "notification.stale");
    auto page = metrics::global().render();
    CHECK(page.find("hisgate_payment_notifications_total{outcome=\"refused\",reason=\"notification.bad_signature\"} 2") !=
          std::string::npos);

    auto status = f.provider.query(id);
    REQUIRE(status.ok());
    CHECK(status->trade_state == "SUCCESS");
    CHECK(status->amount_fen == 1250);
    CHECK(status->transaction_id == verified->transaction_id);

    // Closing a paid order: the provider says so, and the sink hears AlreadyPaid.
    CHECK(f.closed(id) == ledger::CloseOutcome::AlreadyPaid);
    // The refund, then the same refund again (the Confirmer's retry): one refund at the provider.
    CHECK(f.refunded(id, 1250) == true);
    CHECK(f.refunded(id, 1250) == true);
    status = f.provider.query(id);
    REQUIRE(status.ok());
    CHECK(status->trade_state == "REFUND");
    CHECK(status->refunded_fen == 1250);

    // An order never paid: closed; then it cannot be paid, and a refund is refused.
    auto [unpaid, unpaid_prepay] = f.order(800);
    CHECK(f.closed(unpaid) == ledger::CloseOutcome::Closed);
    CHECK(f.closed(unpaid) == ledger::CloseOutcome::Closed);  // idempotent
    auto late_pay = f.checkout(unpaid_prepay);
    CHECK(late_pay.status == 409);
    CHECK(late_pay.code() == "ORDER_CLOSED");
    CHECK(f.refunded(unpaid, 800) == false);
    CHECK(f.answers.read([&] { return f.answers.failures[unpaid].back().code; }) == "ORDER_NOT_PAID");
    CHECK(f.state(unpaid) == "CLOSED");

    // The bill of the day: the payment and its one refund; nothing for the closed order.
    auto lines = f.bill_today();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].out_trade_no == id);
    CHECK(lines[0].kind == "payment");
    CHECK(lines[0].amount_fen == 1250);
    CHECK(lines[1].kind == "refund");
    CHECK(lines[1].out_refund_no == id);
    CHECK(lines[1].amount_fen == 1250);
    // Another day's bill is the header alone.
    auto empty = test::http_get(f.sim.port, "/v3/bill?date=2020-01-01");
    REQUIRE(empty.status == 200);
    CHECK(empty.body == std::string(kBillHeader) + "\n");
}

TEST_CASE("pay-sim: its records survive a restart: orders, payments, refunds, the bill and the idempotent answers") {
    Fixture f;
    auto [id, prepay] = f.order(1250);
    REQUIRE(f.checkout(prepay).status == 200);
    auto refund = [&] {
        return test::http_send(f.sim.port, "POST", "/v3/refund/domestic/refunds",
                               nlohmann::json{{"out_trade_no", id}, {"out_refund_no", id}, {"amount", {{"refund", 250}}}}.dump());
    };
    auto first = refund();
    REQUIRE(first.status == 200);
    auto [open, open_prepay] = f.order(400);
    auto bill_before = f.bill_today();
    f.sim.restart();
    PaySimProvider after(PaySimAddress{"127.0.0.1", f.sim.port}, {});
    auto s = after.query(id);
    REQUIRE(s.ok());
    CHECK(s->trade_state == "REFUND");
    CHECK(s->refunded_fen == 250);
    auto again = refund();
    REQUIRE(again.status == 200);
    CHECK(nlohmann::json::parse(again.body)["refund_id"] == nlohmann::json::parse(first.body)["refund_id"]);
    auto recreated = after.create_order({open, 400, "CNY", "outpatient fee", f.sink.url()});
    REQUIRE(recreated.ok());
    CHECK(recreated.value() == open_prepay);
    auto r = test::http_get(f.sim.port, "/v3/bill?date=" + utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"));
    REQUIRE(r.status == 200);
    CHECK(r.body == bill_csv(bill_before));
}

TEST_CASE("pay-sim: an order paid from many checkouts at once is paid once and notified once") {
    Fixture f;
    auto [id, prepay] = f.order(990);
    std::vector<int> statuses(8);
    std::vector<std::thread> patients;
    for (int i = 0; i < 8; ++i) patients.emplace_back([&, i] { statuses[i] = f.checkout(prepay).status; });
    for (auto& t : patients) t.join();
    CHECK(std::count(statuses.begin(), statuses.end(), 200) == 8);
    REQUIRE(test::eventually([&] { return f.sink.for_order(id).size() == 1; }));
    CHECK(f.sim.stats()["posted"] == 1);
    auto lines = f.bill_today();
    CHECK(std::count_if(lines.begin(), lines.end(), [&](const auto& l) { return l.out_trade_no == id; }) == 1);
}

TEST_CASE("pay-sim: a notification refused by the receiver is retried with backoff until delivered") {
    Fixture f;
    f.sink.refuse_next(2);
    auto [id, prepay] = f.order();
    REQUIRE(f.checkout(prepay).status == 200);
    // The receiver holds the notification before pay-sim has read its answer and counted
    // the delivery: wait for both.
    REQUIRE(test::eventually([&] { return f.sink.for_order(id).size() == 1 && f.sim.stats()["delivered"] == 1; }));
    CHECK(f.sink.refused() == 2);
    auto s = f.sim.stats();
    CHECK(s["attempts"] == 3);
    CHECK(s["failedAttempts"] == 2);
    CHECK(s["delivered"] == 1);
    // Each attempt is signed afresh: the delivered one verifies.
    auto n = f.sink.for_order(id)[0];
    CHECK(verify_notification(n.headers, n.body, f.sim.key, std::chrono::system_clock::now()).ok());
}

TEST_CASE("pay-sim: a notification whose receiver never accepts is given up after max_attempts") {
    Fixture f(nlohmann::json{{"notify", {{"first_retry_ms", 20}, {"retry_cap_ms", 40}, {"max_attempts", 3}}}});
    f.sink.refuse_next(1000);
    auto [id, prepay] = f.order();
    REQUIRE(f.checkout(prepay).status == 200);
    REQUIRE(test::eventually([&] { return f.sim.stats()["givenUp"] == 1; }));
    CHECK(f.sim.stats()["attempts"] == 3);
    CHECK(f.sink.refused() == 3);
}

TEST_CASE("pay-sim faults: notification lost, duplicated, late") {
    Fixture f;
    SECTION("notify_lost for the next order: never sent; the one after is") {
        REQUIRE(f.sim.arm({{"kind", "notify_lost"}}) == 200);
        auto [lost, lost_prepay] = f.order();
        auto [kept, kept_prepay] = f.order();
        REQUIRE(f.checkout(lost_prepay).status == 200);
        REQUIRE(f.checkout(kept_prepay).status == 200);
        REQUIRE(test::eventually([&] { return f.sink.for_order(kept).size() == 1; }));
        CHECK(f.sink.for_order(lost).empty());
        CHECK(f.sim.stats()["lost"] == 1);
        CHECK(f.sim.stats()["pending"] == 0);
        // What recovers the truth: the query.
        CHECK(f.state(lost) == "SUCCESS");
    }
    SECTION("notify_duplicate for a named order: sent twice, same event id, both signed") {
        auto [id, prepay] = f.order();
        REQUIRE(f.sim.arm({{"kind", "notify_duplicate"}, {"out_trade_no", id}}) == 200);
        REQUIRE(f.checkout(prepay).status == 200);
        REQUIRE(test::eventually([&] { return f.sink.for_order(id).size() == 2; }));
        auto got = f.sink.for_order(id);
        auto a = verify_notification(got[0].headers, got[0].body, f.sim.key, std::chrono::system_clock::now());
        auto b = verify_notification(got[1].headers, got[1].body, f.sim.key, std::chrono::system_clock::now());
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        CHECK(a->event_id == b->event_id);
        CHECK(got[0].headers.at(kNonceHeader) != got[1].headers.at(kNonceHeader));
    }
    SECTION("notify_late: held back while a later payment's notification goes out") {
        auto [late, late_prepay] = f.order();
        auto [prompt, prompt_prepay] = f.order();
        REQUIRE(f.sim.arm({{"kind", "notify_late"}, {"out_trade_no", late}, {"delay_ms", 3'600'000}}) == 200);
        REQUIRE(f.checkout(late_prepay).status == 200);
        REQUIRE(f.checkout(prompt_prepay).status == 200);
        REQUIRE(test::eventually([&] { return f.sink.for_order(prompt).size() == 1; }));
        CHECK(f.sink.for_order(late).empty());
        CHECK(f.sim.stats()["pending"] == 1);
    }
    SECTION("a fault for N orders acts N times, then is gone") {
        REQUIRE(f.sim.arm({{"kind", "notify_lost"}, {"count", 2}}) == 200);
        std::vector<std::string> ids;
        for (int i = 0; i < 3; ++i) {
            auto [id, prepay] = f.order();
            ids.push_back(id);
            REQUIRE(f.checkout(prepay).status == 200);
        }
        REQUIRE(test::eventually([&] { return f.sink.for_order(ids[2]).size() == 1; }));
        CHECK(f.sim.stats()["lost"] == 2);
        auto armed = test::http_get(f.sim.control_port, "/faults");
        CHECK(nlohmann::json::parse(armed.body)["faults"].empty());
    }
}

TEST_CASE("pay-sim faults: query NOTPAY once, close failing because paid in the gap, refund failing") {
    Fixture f;
    SECTION("query_notpay_once: a paid order reads NOTPAY once, then SUCCESS") {
        auto [id, prepay] = f.order();
        REQUIRE(f.sim.arm({{"kind", "query_notpay_once"}, {"out_trade_no", id}}) == 200);
        CHECK(f.state(id) == "NOTPAY");  // not paid yet: the truth, and the fault waits
        REQUIRE(f.checkout(prepay).status == 200);
        CHECK(f.state(id) == "NOTPAY");  // the fault
        CHECK(f.state(id) == "SUCCESS");
    }
    SECTION("close_paid_in_gap: the close finds the order paid, and the notification follows") {
        auto [id, prepay] = f.order();
        REQUIRE(f.sim.arm({{"kind", "close_paid_in_gap"}}) == 200);
        CHECK(f.closed(id) == ledger::CloseOutcome::AlreadyPaid);
        CHECK(f.state(id) == "SUCCESS");
        REQUIRE(test::eventually([&] { return f.sink.for_order(id).size() == 1; }));
        CHECK(verify_notification(f.sink.for_order(id)[0].headers, f.sink.for_order(id)[0].body, f.sim.key,
                                  std::chrono::system_clock::now())
                  .ok());
    }
    SECTION("refund_fail: no answer reaches the refund sink, nothing is refunded; the retry refunds once") {
        auto [id, prepay] = f.order();
        REQUIRE(f.checkout(prepay).status == 200);
        REQUIRE(f.sim.arm({{"kind", "refund_fail"}, {"out_trade_no", id}}) == 200);
        CHECK(f.refunded(id, 1250) == std::nullopt);
        CHECK(f.answers.read([&] { return f.answers.failures[id].back().code; }) == "SYSTEM_ERROR");
        CHECK(f.answers.read([&] { return f.answers.failures[id].back().cls; }) == ErrorClass::Unavailable);
        CHECK(f.state(id) == "SUCCESS");
        CHECK(f.refunded(id, 1250) == true);
        auto lines = f.bill_today();
        CHECK(std::count_if(lines.begin(), lines.end(), [&](const auto& l) { return l.kind == "refund" && l.out_trade_no == id; }) == 1);
    }
}

TEST_CASE("pay-sim bad input: each refused with the provider's code and a message naming the field, nothing changed") {
    Fixture f;
    auto post = [&](const std::string& path, const std::string& body) { return test::http_send(f.sim.port, "POST", path, body); };
    SECTION("amounts and currency on create") {
        std::string id = new_id();
        for (const auto& amount : {nlohmann::json{{"total", 0}}, nlohmann::json{{"total", -1}}, nlohmann::json{{"total", 12.5}},
                                   nlohmann::json{{"total", "1250"}}, nlohmann::json{{"total", 100'000'001}},
                                   nlohmann::json{{"total", true}}, nlohmann::json::object()}) {
            auto r = post("/v3/pay/transactions/native", create_body(id, amount));
            CHECK(r.status == 400);
            CHECK(r.code() == "PARAM_ERROR");
            CHECK(r.body.find("amount.total") != std::string::npos);
        }
        auto usd = post("/v3/pay/transactions/native", create_body(id, {{"total", 1250}, {"currency", "USD"}}));
        CHECK(usd.status == 400);
        CHECK(usd.body.find("amount.currency") != std::string::npos);
        CHECK(usd.body.find("CNY") != std::string::npos);
        CHECK(test::http_get(f.sim.port, "/v3/pay/transactions/out-trade-no/" + id).status == 404);
        // and through the client, refused before anything is sent
        auto client = f.provider.create_order({new_id(), 1250, "USD", "fee", f.sink.url()});
        REQUIRE_FALSE(client.ok());
        CHECK(client.error().code == "payments.bad_currency");
    }
    SECTION("ids, description, notify_url") {
        auto r = post("/v3/pay/transactions/native", create_body(std::string(65, 'a'), {{"total", 1}}));
        CHECK(r.status == 400);
        CHECK(r.body.find("out_trade_no") != std::string::npos);
        r = post("/v3/pay/transactions/native", create_body("abc/def", {{"total", 1}}));
        CHECK(r.status == 400);
        r = post("/v3/pay/transactions/native", create_body(new_id(), {{"total", 1}}, "ftp://x/y"));
        CHECK(r.status == 400);
        CHECK(r.body.find("notify_url") != std::string::npos);
        r = post("/v3/pay/transactions/native",
                 nlohmann::json{{"out_trade_no", new_id()}, {"description", std::string(128, 'd')}, {"notify_url", "http://a:1/"},
                                {"amount", {{"total", 1}}}}
                     .dump());
        CHECK(r.status == 400);
        CHECK(r.body.find("description") != std::string::npos);
        CHECK(post("/v3/pay/transactions/native", "[1,2]").status == 400);
        CHECK(post("/v3/pay/transactions/native", "{not json").code() == "PARAM_ERROR.invalid");
    }
    SECTION("an oversized body: 413 on its Content-Length, before any byte of it is read") {
        // Only the head is sent: the answer must come without the body (a client that sent
        // the whole body could see its connection reset under the answer, as the server
        // closes with the body unread).
        test::RawSocket raw(f.sim.port);
        REQUIRE(raw.connected());
        REQUIRE(raw.send("POST /v3/pay/transactions/native HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(17 * 1024) + "\r\n\r\n"));
        auto answer = raw.read_response(std::chrono::milliseconds(5000));
        CHECK(answer.rfind("HTTP/1.1 413 ", 0) == 0);
        CHECK(answer.find("http.body_too_large") != std::string::npos);
        CHECK(answer.find("16384 bytes") != std::string::npos);
    }
    SECTION("deep JSON: refused by depth before the parser runs") {
        std::string deep = std::string(40, '[') + std::string(40, ']');
        auto r = post("/v3/pay/transactions/native",
                      R"({"out_trade_no":"x1","description":)" + deep + R"(,"notify_url":"http://a:1/","amount":{"total":1}})");
        CHECK(r.status == 400);
        CHECK(r.code() == "PARAM_ERROR.too_deep");
    }
    SECTION("a refund over the paid amount, and other refunds refused") {
        auto [id, prepay] = f.order(1000);
        REQUIRE(f.checkout(prepay).status == 200);
        auto refund = [&](const std::string& refund_no, const nlohmann::json& amount) {
            return post("/v3/refund/domestic/refunds",
                        nlohmann::json{{"out_trade_no", id}, {"out_refund_no", refund_no}, {"amount", amount}}.dump());
        };
        auto over = refund("r-over", {{"refund", 1001}});
        CHECK(over.status == 409);
        CHECK(over.code() == "REFUND_EXCEEDS_PAID");
        CHECK(refund("r-usd", {{"refund", 100}, {"currency", "USD"}}).status == 400);
        CHECK(refund("r-total", {{"refund", 100}, {"total", 999}}).status == 400);
        CHECK(refund("r-zero", {{"refund", 0}}).status == 400);
        auto s = f.provider.query(id);
        REQUIRE(s.ok());
        CHECK(s->refunded_fen == 0);
        // Partial refunds sum to at most the amount paid.
        CHECK(refund("r-1", {{"refund", 600}}).status == 200);
        CHECK(refund("r-2", {{"refund", 401}}).code() == "REFUND_EXCEEDS_PAID");
        CHECK(refund("r-2", {{"refund", 400}}).status == 200);
        CHECK(refund("r-1", {{"refund", 500}}).code() == "OUT_REFUND_NO_USED");
        CHECK(refund("r-1", {{"refund", 600}}).status == 200);  // the same refund again: answered, not repeated
        s = f.provider.query(id);
        REQUIRE(s.ok());
        CHECK(s->refunded_fen == 1000);
        CHECK(post("/v3/refund/domestic/refunds",
                   nlohmann::json{{"out_trade_no", new_id()}, {"out_refund_no", "r"}, {"amount", {{"refund", 1}}}}.dump())
                  .status == 404);
    }
    SECTION("the bill's date, unknown routes, bad faults") {
        CHECK(test::http_get(f.sim.port, "/v3/bill?date=2026-02-30").status == 400);
        CHECK(test::http_get(f.sim.port, "/v3/bill?date=yesterday").status == 400);
        CHECK(test::http_get(f.sim.port, "/v3/bill").status == 400);
        CHECK(test::http_get(f.sim.port, "/v3/bill?date=2026-01-01&date=2026-01-02").status == 400);
        CHECK(test::http_get(f.sim.port, "/v3/nothing").status == 404);
        CHECK(test::http_get(f.sim.port, "/v3/pay/transactions/out-trade-no/" + new_id()).code() == "ORDER_NOT_EXIST");
        auto bad = test::http_send(f.sim.control_port, "POST", "/faults", R"({"kind":"melt_down"})");
        CHECK(bad.status == 400);
        CHECK(bad.code() == "faults.bad_fault");
        CHECK(f.sim.arm({{"kind", "notify_late"}}) == 400);  // needs delay_ms
        CHECK(f.sim.arm({{"kind", "notify_lost"}, {"count", 0}}) == 400);
        CHECK(f.sim.arm({{"kind", "refund_fail"}, {"delay_ms", 5}}) == 400);
        CHECK(nlohmann::json::parse(test::http_get(f.sim.control_port, "/faults").body)["faults"].empty());
    }
}

TEST_CASE("PaySimProvider: a provider that is not there reaches only the failure sink") {
    Answers answers;
    uint16_t nobody = test::free_port();
    PaySimProvider provider(PaySimAddress{"127.0.0.1", nobody, std::chrono::milliseconds(2000)}, answers.sinks());
    std::string id = new_id();
    provider.close(id);
    provider.refund(id, 100);
    REQUIRE(test::eventually([&] { return answers.read([&] { return answers.failures[id].size() == 2; }); }));
    CHECK(answers.read([&] { return answers.closes[id].empty() && answers.refunds[id].empty(); }));
    CHECK(answers.read([&] { return answers.failures[id][0].code; }) == "payments.unreachable");
    CHECK(answers.read([&] { return answers.failures[id][0].cls; }) == ErrorClass::Unavailable);
    auto q = provider.query(id);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().cls == ErrorClass::Unavailable);
    CHECK(provider.counters().failed == 2);
}
