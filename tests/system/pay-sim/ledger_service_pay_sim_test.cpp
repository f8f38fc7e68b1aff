// PaySimProvider wired into the control plane's money::LedgerService the way
// hisgate-controlplane will wire it (the same pattern as AgentHisPort's test in
// tests/system/ledger): the provider opens before the service (the service takes it), its
// sinks deliver to the service once it is set (answers before are dropped: the confirmers'
// retry timers ask again), the service's on_* take its own lock, and at shutdown the
// service's timer stops before the provider's worker, the last caller of the service.
// The payment provider is a real pay-sim; the notification is checked with
// verify_notification before the service hears of it, as the control plane's route will.
// The hospital is a recording HisPort answered by the test (the real one is AgentHisPort,
// tested against real agents in test_ledger_confirmation).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>

#include "common/random_id.h"
#include "common/utc_time.h"
#include "controlplane/ledger/reconcile.h"
#include "controlplane/money/ledger_service.h"
#include "controlplane/payments/bill.h"
#include "controlplane/payments/notification.h"
#include "controlplane/payments/pay_sim_provider.h"
#include "tests/support/running_pay_sim.h"

using namespace hisgate;
using namespace std::chrono_literals;
using ledger::TxState;

namespace {

struct RecordingServiceHis final : ledger::HisPort {
    std::mutex mu;
    std::vector<std::string> sent;
    void send_change(const ledger::Transaction& t) override { record("change:" + t.intent.id); }
    void probe(const ledger::Transaction& t) override { record("probe:" + t.intent.id); }
    void revoke(const ledger::Transaction& t) override { record("revoke:" + t.intent.id); }
    void record(std::string s) {
        std::lock_guard lock(mu);
        sent.push_back(std::move(s));
    }
    bool has(const std::string& s) {
        std::lock_guard lock(mu);
        return std::find(sent.begin(), sent.end(), s) != sent.end();
    }
};

ledger::TransactionIntent payment(const std::string& id, int64_t fen) {
    ledger::TransactionIntent i;
    i.id = id;
    i.kind = ledger::TxKind::Payment;
    i.hospital_id = "H001";
    i.patient_id = "P-DEMO-1";
    i.amount_fen = fen;
    i.purpose = "outpatient";
    return i;
}

}  // namespace

TEST_CASE("PaySimProvider wired into money::LedgerService: posted, refunded and voided through a real pay-sim, and the day reconciles clean") {
    test::RunningPaySim sim;
    test::NotificationSink sink;
    RecordingServiceHis his;
    std::atomic<controlplane::money::LedgerService*> service{nullptr};
    payments::PaySimProvider provider(
        payments::PaySimAddress{"127.0.0.1", sim.port},
        {[&](const std::string& id, ledger::CloseOutcome o) {
             if (auto* s = service.load()) s->on_close_answer(id, o);
         },
         [&](const std::string& id, bool refunded) {
             if (auto* s = service.load()) s->on_refund_answer(id, refunded);
         },
         [&](const std::string&, const Error&) {}});
    controlplane::money::LedgerSettings settings;
    settings.dir = test::make_temp_dir("ledger-service-pay") + "/ledgers";
    settings.confirmer = {.reply_timeout = 60s, .retry = 1s};
    auto opened = controlplane::money::LedgerService::open(settings, SystemClock::instance(), his, provider);
    REQUIRE(opened.ok());
    auto& svc = **opened;
    service = &svc;
    svc.start();
    struct Stop {
        std::function<void()> f;
        ~Stop() { f(); }
    } stop{[&] {
        svc.stop();
        provider.stop();
        service = nullptr;
    }};
    auto state = [&](const std::string& id) {
        auto found = svc.find(id);
        REQUIRE(found.ok());
        return found->transaction.state;
    };
    auto becomes = [&](const std::string& id, TxState s) { return test::eventually([&] { return state(id) == s; }); };
    // Created in the ledger, then at the provider; paid when `pay`; its notification
    // checked and handed to the service.
    auto start_payment = [&](int64_t fen, bool pay) {
        std::string id = new_id();
        REQUIRE(svc.create(payment(id, fen), ledger::PatientRegion{"", "", "44"}).ok());
        auto prepay = provider.create_order({id, fen, "CNY", "outpatient fee", sink.url()});
        REQUIRE(prepay.ok());
        if (!pay) return id;
        REQUIRE(test::http_send(sim.port, "POST", "/v3/checkout/" + prepay.value(), "").status == 200);
        REQUIRE(test::eventually([&] { return !sink.for_order(id).empty(); }));
        auto n = sink.for_order(id)[0];
        auto verified = payments::verify_notification(n.headers, n.body, sim.key, std::chrono::system_clock::now());
        REQUIRE(verified.ok());
        REQUIRE(verified->trade_state == "SUCCESS");
        svc.on_payment_notification(verified->out_trade_no, verified->amount_fen);
        REQUIRE(becomes(id, TxState::Dispatched));
        CHECK(his.has("change:" + id));
        return id;
    };

    std::string posted = start_payment(1500, true);
    svc.on_change_reply(posted, true);
    REQUIRE(becomes(posted, TxState::Posted));

    std::string refunded = start_payment(900, true);
    svc.on_change_reply(refunded, false);
    REQUIRE(becomes(refunded, TxState::Refunded));
    auto q = provider.query(refunded);
    REQUIRE(q.ok());
    CHECK(q->trade_state == "REFUND");

    std::string voided = start_payment(300, false);
    REQUIRE(svc.cancel(voided).ok());
    REQUIRE(becomes(voided, TxState::Voided));
    q = provider.query(voided);
    REQUIRE(q.ok());
    CHECK(q->trade_state == "CLOSED");

    std::vector<ledger::Transaction> day;
    for (auto s : {TxState::Posted, TxState::Refunded, TxState::Voided}) {
        auto listed = svc.in_state(s, 100);
        REQUIRE(listed.ok());
        for (auto& l : *listed) day.push_back(l.transaction);
    }
    REQUIRE(day.size() == 3);
    auto bill = test::http_get(sim.port, "/v3/bill?date=" + utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"));
    REQUIRE(bill.status == 200);
    auto lines = payments::parse_bill_csv(bill.body);
    REQUIRE(lines.ok());
    auto report = ledger::reconcile("today", day, {{posted, "payment", 1500}}, lines.value());
    REQUIRE(report.ok());
    INFO(report->to_text());
    CHECK(report->clean());
    CHECK(report->counts.at(ledger::Finding::Matched) == 3);
}
