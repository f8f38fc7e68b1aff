// The ledger's Confirmer paying through a real pay-sim: PaySimProvider as its PaymentPort,
// the answers delivered by the provider's worker thread into the Confirmer under the
// owner's lock (the wiring the control plane will use), the signed notification checked
// with verify_notification before the Confirmer hears of it, and the day reconciled at the
// end against pay-sim's bill. The HIS side is a recording HisPort answered by the test, as
// in the confirmer's unit tests; the Confirmer's timers run on a ManualClock.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "common/random_id.h"
#include "common/utc_time.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/reconcile.h"
#include "controlplane/payments/bill.h"
#include "controlplane/payments/notification.h"
#include "controlplane/payments/pay_sim_provider.h"
#include "tests/support/running_pay_sim.h"

using namespace hisgate;
using namespace hisgate::ledger;
using namespace std::chrono_literals;

namespace {

struct RecordingHis : HisPort {
    std::vector<std::string> sent;
    void send_change(const Transaction& t) override { sent.push_back("change:" + t.intent.id); }
    void probe(const Transaction& t) override { sent.push_back("probe:" + t.intent.id); }
    void revoke(const Transaction& t) override { sent.push_back("revoke:" + t.intent.id); }
    int count(const std::string& what) const { return static_cast<int>(std::count(sent.begin(), sent.end(), what)); }
};

// The owner: one lock around the Confirmer, taken by the test's calls and by the sinks.
struct Owner {
    test::RunningPaySim sim;
    test::NotificationSink sink;
    std::string path = test::make_temp_dir("confirmer-pay") + "/ledger-south.db";
    std::unique_ptr<LedgerStore> store = open_sqlite_ledger_store(path, "south").value();
    ManualClock clock;
    RecordingHis his;
    std::mutex mu;
    std::vector<std::string> failures;
    payments::PaySimProvider provider{payments::PaySimAddress{"127.0.0.1", sim.port},
                                      {[this](const std::string& id, CloseOutcome o) {
                                           std::lock_guard lock(mu);
                                           confirmer.on_close_answer(id, o);
                                       },
                                       [this](const std::string& id, bool refunded) {
                                           std::lock_guard lock(mu);
                                           confirmer.on_refund_answer(id, refunded);
                                       },
                                       [this](const std::string&, const Error& e) {
                                           std::lock_guard lock(mu);
                                           failures.push_back(e.code);
                                       }}};
    Confirmer confirmer{*store, clock, his, provider};

    ~Owner() { provider.stop(); }  // before the Confirmer it calls goes away; not under mu

    TxState state(const std::string& id) {
        std::lock_guard lock(mu);
        return store->get(id).value()->state;
    }
    bool becomes(const std::string& id, TxState s) {
        return test::eventually([&] { return state(id) == s; });
    }
    // A payment created in the ledger and at the provider; its prepay id.
    std::pair<std::string, std::string> payment(int64_t fen) {
        TransactionIntent in;
        in.id = new_id();
        in.hospital_id = "H001";
        in.patient_id = "P-000123";
        in.amount_fen = fen;
        in.purpose = "outpatient";
        in.epoch = 1;
        in.deadline_ms = clock.wall_ms() + 30'000;
        {
            std::lock_guard lock(mu);
            REQUIRE(confirmer.create(in).ok());
        }
        auto prepay = provider.create_order({in.id, fen, "CNY", "outpatient fee", sink.url()});
        REQUIRE(prepay.ok());
        return {in.id, prepay.value()};
    }
    // The notification for `id`, checked, then handed to the Confirmer: what the control
    // plane's route will do.
    void take_notification(const std::string& id) {
        REQUIRE(test::eventually([&] { return !sink.for_order(id).empty(); }));
        auto n = sink.for_order(id)[0];
        auto verified = payments::verify_notification(n.headers, n.body, sim.key, std::chrono::system_clock::now());
        REQUIRE(verified.ok());
        std::lock_guard lock(mu);
        confirmer.on_payment_notification(verified->out_trade_no, verified->amount_fen);
    }
    void step(std::chrono::milliseconds d) {
        std::lock_guard lock(mu);
        clock.advance(d);
        confirmer.tick();
    }
    void his_replies(const std::string& id, bool committed) {
        std::lock_guard lock(mu);
        confirmer.on_change_reply(id, committed);
    }
};

}  // namespace

TEST_CASE("Confirmer with PaySimProvider and a real pay-sim: posted, refunded, voided, paid in the gap, a failed refund retried, and the day reconciles clean") {
    Owner o;
    std::vector<HisLine> his_statement;

    // Paid, dispatched, committed by the hospital: POSTED.
    auto [posted, posted_prepay] = o.payment(1250);
    REQUIRE(test::http_send(o.sim.port, "POST", "/v3/checkout/" + posted_prepay, "").status == 200);
    o.take_notification(posted);
    CHECK(o.state(posted) == TxState::Dispatched);
    o.his_replies(posted, true);
    CHECK(o.state(posted) == TxState::Posted);
    his_statement.push_back({posted, "payment", 1250});

    // Paid, then refused by the hospital: refunded at pay-sim through the provider's thread.
    auto [refused, refused_prepay] = o.payment(800);
    REQUIRE(test::http_send(o.sim.port, "POST", "/v3/checkout/" + refused_prepay, "").status == 200);
    o.take_notification(refused);
    o.his_replies(refused, false);
    REQUIRE(o.becomes(refused, TxState::Refunded));
    auto q = o.provider.query(refused);
    REQUIRE(q.ok());
    CHECK(q->trade_state == "REFUND");
    CHECK(q->refunded_fen == 800);

    // Never paid: the deadline closes the order at pay-sim first, then VOIDED.
    auto [unpaid, unpaid_prepay] = o.payment(500);
    // Paid in the gap: the close finds it paid, so it goes on to the hospital.
    auto [gap, gap_prepay] = o.payment(700);
    REQUIRE(o.sim.arm({{"kind", "close_paid_in_gap"}, {"out_trade_no", gap}}) == 200);
    o.step(30s);
    REQUIRE(o.becomes(unpaid, TxState::Voided));
    CHECK(test::http_send(o.sim.port, "POST", "/v3/checkout/" + unpaid_prepay, "").code() == "ORDER_CLOSED");
    REQUIRE(o.becomes(gap, TxState::Dispatched));
    CHECK(o.his.count("change:" + gap) == 1);
    o.take_notification(gap);  // arrives after all: the Confirmer has moved on, nothing changes
    CHECK(o.his.count("change:" + gap) == 1);
    o.his_replies(gap, true);
    CHECK(o.state(gap) == TxState::Posted);
    his_statement.push_back({gap, "payment", 700});

    // A refund that fails at the provider: no answer; the Confirmer's retry refunds it once.
    auto [retried, retried_prepay] = o.payment(300);
    REQUIRE(test::http_send(o.sim.port, "POST", "/v3/checkout/" + retried_prepay, "").status == 200);
    o.take_notification(retried);
    REQUIRE(o.sim.arm({{"kind", "refund_fail"}, {"out_trade_no", retried}}) == 200);
    o.his_replies(retried, false);
    REQUIRE(test::eventually([&] {
        std::lock_guard lock(o.mu);
        return std::count(o.failures.begin(), o.failures.end(), "SYSTEM_ERROR") == 1;
    }));
    CHECK(o.state(retried) == TxState::Rejected);
    o.step(5s);  // ConfirmerOptions::retry
    REQUIRE(o.becomes(retried, TxState::Refunded));

    // The day: the ledger, the hospital's statement and pay-sim's bill agree.
    auto bill = test::http_get(o.sim.port, "/v3/bill?date=" + utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"));
    REQUIRE(bill.status == 200);
    auto lines = payments::parse_bill_csv(bill.body);
    REQUIRE(lines.ok());
    CHECK(lines->size() == 6);  // 4 payments, 2 refunds
    auto all = o.store->all();
    REQUIRE(all.ok());
    auto report = reconcile("today", all.value(), his_statement, lines.value());
    REQUIRE(report.ok());
    INFO(report->to_text());
    CHECK(report->clean());
    CHECK(report->counts.at(Finding::Matched) == 5);

    // And a hospital that kept a payment the platform refunded is caught.
    his_statement.push_back({refused, "payment", 800});
    auto caught = reconcile("today", all.value(), his_statement, lines.value());
    REQUIRE(caught.ok());
    CHECK(caught->counts.at(Finding::StateMismatch) == 1);
}

// The port never has two asks for one id queued or being sent: while the first refund's
// answer is held at the sink, two more asks for it are coalesced (counted, not sent); pay-sim
// records one refund. Once that ask is answered, a new one is sent again (and answered from
// the stored refund: idempotent by out_refund_no).
TEST_CASE("PaySimProvider: an ask for an id whose ask is still under way is coalesced - never two at once") {
    test::RunningPaySim sim;
    test::NotificationSink sink;
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool gate_open = false;
    std::atomic<int> refunded_answers{0};
    payments::PaySimProvider provider{payments::PaySimAddress{"127.0.0.1", sim.port},
                                      {[](const std::string&, CloseOutcome) {},
                                       [&](const std::string&, bool refunded) {
                                           std::unique_lock lock(gate_mu);
                                           gate_cv.wait(lock, [&] { return gate_open; });
                                           if (refunded) ++refunded_answers;
                                       },
                                       [](const std::string&, const Error&) {}}};
    const std::string order = new_id(), refund = new_id();
    auto prepay = provider.create_order({order, 500, "CNY", "outpatient fee", sink.url()});
    REQUIRE(prepay.ok());
    REQUIRE(test::http_send(sim.port, "POST", "/v3/checkout/" + prepay.value(), "").status == 200);

    provider.refund_correction(refund, order, 500);
    REQUIRE(test::eventually([&] { return provider.counters().sent == 1; }));  // being sent: its answer waits
    provider.refund_correction(refund, order, 500);
    provider.refund_correction(refund, order, 500);
    CHECK(provider.counters().coalesced == 2);
    CHECK(provider.counters().sent == 1);
    {
        std::lock_guard lock(gate_mu);
        gate_open = true;
    }
    gate_cv.notify_all();
    REQUIRE(test::eventually([&] { return refunded_answers == 1; }));
    auto paid = [&] {
        auto r = test::http_get(sim.port, "/v3/pay/transactions/out-trade-no/" + order);
        return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
    };
    CHECK(paid()["amount"]["refund"] == 500);
    provider.refund_correction(refund, order, 500);  // answered: a new ask goes out
    REQUIRE(test::eventually([&] { return refunded_answers == 2; }));
    CHECK(provider.counters().sent == 2);
    CHECK(paid()["amount"]["refund"] == 500);  // still one refund
    provider.stop();
}
