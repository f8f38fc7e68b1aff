// Multi-step confirmation end to end (docs/ledger.md, "Confirmation", "AgentHisPort"): a real
// ledger::Confirmer on a real SQLite ledger file, talking to the hospital through
// AgentHisPort, the real Router over real Mosquitto, the real agent and his-sim playing a
// HIS that executes every repeat (idempotent_orders=false). What the HIS did is read from
// his-sim's own records.
//
// The payment provider is the one part played here: pay-sim is not built yet (issue 15,
// item 5), so a recording PaymentPort answers closes and refunds, and the test checks it
// was never asked to refund a payment the hospital committed.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "controlplane/answer_intake.h"
#include "controlplane/confirmation/agent_his_port.h"
#include "controlplane/fleet_store.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/money/ledger_service.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/patient_records.h"
#include "controlplane/router.h"
#include "controlplane/task_results.h"
#include "his-sim/hospital.h"
#include "tests/support/system.h"
#include "transport/requester.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;
using ledger::TxState;

namespace {

constexpr const char* kInstance = "ledger-test";

// The control plane's routing, in this process: its own MQTT connection, hospital
// registry (from the agents' state messages), task results and Router, as
// hisgate-controlplane wires them (controlplane/main.cpp).
struct RouterSide {
    explicit RouterSide(test::System& sys) : dir(test::make_temp_dir("ledger-side")), link(link_options(sys)) {
        auto opened_fleet = controlplane::open_sqlite_fleet_store(dir + "/fleet.db");
        REQUIRE(opened_fleet.ok());
        fleet = std::move(opened_fleet.value());
        auto opened_registry = controlplane::HospitalRegistry::open(*fleet, SystemClock::instance(),
                                                                    {Envelope::kMinSchema, Envelope::kMaxSchema});
        REQUIRE(opened_registry.ok());
        registry = std::move(opened_registry.value());
        auto opened_results = controlplane::TaskResults::open(dir + "/results.db");
        REQUIRE(opened_results.ok());
        results = std::move(opened_results.value());
        auto opened_records = controlplane::open_sqlite_patient_records(dir + "/results.db", SystemClock::instance());
        REQUIRE(opened_records.ok());
        records = std::move(opened_records.value());
        requester = std::make_unique<Requester>(link);
        link.subscribe(topics::all_states(), 1);
        link.subscribe(topics::all_responses(kInstance), 1);
        link.on_message([this](const IncomingMessage& m) {
            if (m.topic.size() > 6 && m.topic.compare(m.topic.size() - 6, 6, "/state") == 0) (void)registry->apply_state(m);
            else controlplane::take_answer(*results, *records, *requester, m, kInstance);
        });
        // The change's own wait is short: its answer is what his-sim drops, and the HIS's
        // answer timeout at the agent is longer, so the change is never answered in time.
        controlplane::RouteTimeouts timeouts{.fallback = 5000ms,
                                             .by_type = {{"payment.pay", 1000ms}, {"appointment.book", 1000ms}}};
        router = std::make_unique<controlplane::Router>(*registry, *requester, *results, kInstance, timeouts);
        link.start();
        REQUIRE(link.wait_connected(10s));
    }
    ~RouterSide() { link.stop(); }

    bool online(const std::string& hospital) {
        auto h = registry->find(hospital);
        return h && h->online;
    }

    static MqttOptions link_options(test::System& sys) {
        MqttOptions o = sys.broker().mqtt_options("controlplane-ledger", "controlplane-ledger");
        o.session_expiry = 600s;
        return o;
    }

    std::string dir;
    MqttLink link;
    std::unique_ptr<controlplane::FleetStore> fleet;
    std::unique_ptr<controlplane::HospitalRegistry> registry;
    std::unique_ptr<controlplane::TaskResults> results;
    std::unique_ptr<controlplane::PatientRecords> records;
    std::unique_ptr<Requester> requester;
    std::unique_ptr<controlplane::Router> router;
};

// The ledger side: AgentHisPort over the router, and one partition's Confirmer on a real
// ledger file, driven by a thread that serialises every answer onto it (the owner's part).
class LedgerSide final : public ledger::PaymentPort {
public:
    LedgerSide(test::System& sys, ledger::ConfirmerOptions options, controlplane::AgentHisPortOptions port_options = {})
        : routing_(sys), dir_(routing_.dir) {
        // As MoneyDesk wires it: the fleet registry says when an agent is away.
        port_options.agent_offline_since = [this](const std::string& hospital) -> std::optional<int64_t> {
            auto r = routing_.registry->record(hospital);
            if (!r || r->online || r->since_ms <= 0) return std::nullopt;
            return r->since_ms;
        };
        port_ = std::make_unique<controlplane::AgentHisPort>(
            *routing_.router,
            [this](const controlplane::HisAnswer& a) { post([a](ledger::Confirmer& c) { a.deliver_to(c); }); },
            std::move(port_options));
        auto store = ledger::open_sqlite_ledger_store(dir_ + "/south.db", "south");
        REQUIRE(store.ok());
        store_ = std::move(store.value());
        confirmer_ = std::make_unique<ledger::Confirmer>(*store_, SystemClock::instance(), *port_, *this, options);
        REQUIRE(confirmer_->resume().ok());
        driver_ = std::thread([this] { drive(); });
    }

    ~LedgerSide() override {
        stopping_ = true;
        driver_.join();
        port_->stop();
    }

    bool online(const std::string& hospital) { return routing_.online(hospital); }

    // Runs `f` with the confirmer and its store, between the driver's turns.
    template <typename F>
    auto with(F f) {
        std::lock_guard lock(confirmer_mu_);
        return f(*confirmer_, *store_);
    }
    TxState state(const std::string& id) {
        return with([&](ledger::Confirmer&, ledger::LedgerStore& s) {
            auto t = s.get(id);
            REQUIRE(t.ok());
            REQUIRE(t->has_value());
            return (*t)->state;
        });
    }
    std::vector<std::string> states_passed(const std::string& id) {
        return with([&](ledger::Confirmer&, ledger::LedgerStore& s) {
            auto h = s.history(id);
            REQUIRE(h.ok());
            std::vector<std::string> out;
            for (const auto& e : *h)
                if (out.empty() || out.back() != e.to_state) out.push_back(e.to_state);
            return out;
        });
    }
    std::vector<std::string> evidence(const std::string& id) {
        return with([&](ledger::Confirmer&, ledger::LedgerStore& s) {
            auto h = s.history(id);
            REQUIRE(h.ok());
            std::vector<std::string> out;
            for (const auto& e : *h) out.push_back(e.to_state + " " + e.evidence);
            return out;
        });
    }
    controlplane::Router& router() { return *routing_.router; }

    // The provider's side (see the file comment): closes succeed, refunds are recorded.
    void close(const std::string& id) override {
        post([id](ledger::Confirmer& c) { c.on_close_answer(id, ledger::CloseOutcome::Closed); });
    }
    void refund(const std::string& id, int64_t) override {
        {
            std::lock_guard lock(answers_mu_);
            refunded_.push_back(id);
        }
        post([id](ledger::Confirmer& c) { c.on_refund_answer(id, true); });
    }
    void refund_correction(const std::string& id, const std::string& order_id, int64_t amount) override {
        (void)order_id;
        refund(id, amount);
    }
    std::vector<std::string> refunded() {
        std::lock_guard lock(answers_mu_);
        return refunded_;
    }

private:
    void post(std::function<void(ledger::Confirmer&)> answer) {
        std::lock_guard lock(answers_mu_);
        answers_.push_back(std::move(answer));
    }
    // The owner's loop: answers and timers, one at a time, on this thread only.
    void drive() {
        while (!stopping_) {
            std::deque<std::function<void(ledger::Confirmer&)>> due;
            {
                std::lock_guard lock(answers_mu_);
                due.swap(answers_);
            }
            {
                std::lock_guard lock(confirmer_mu_);
                for (auto& answer : due) answer(*confirmer_);
                confirmer_->tick();
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    RouterSide routing_;
    std::string dir_;
    std::unique_ptr<controlplane::AgentHisPort> port_;
    std::unique_ptr<ledger::LedgerStore> store_;
    std::unique_ptr<ledger::Confirmer> confirmer_;
    std::mutex confirmer_mu_, answers_mu_;
    std::deque<std::function<void(ledger::Confirmer&)>> answers_;
    std::vector<std::string> refunded_;
    std::atomic<bool> stopping_{false};
    std::thread driver_;
};

ledger::ConfirmerOptions quick() {
    return {.reply_timeout = 2s, .first_probe = 500ms, .probe_cap = 2s, .retry = 1s, .max_probes = 1000};
}

ledger::TransactionIntent payment(const std::string& id) {
    ledger::TransactionIntent i;
    i.id = id;
    i.kind = ledger::TxKind::Payment;
    i.hospital_id = "H001";
    i.patient_id = "P-DEMO-1";
    i.amount_fen = 1500;
    i.purpose = "outpatient";
    i.epoch = 1;
    i.deadline_ms = SystemClock::instance().wall_ms() + 600000;
    return i;
}

int64_t his_executions(test::System& sys, const std::string& order, const std::string& operation = "pay") {
    return sys.his_executions("H001", order, operation);
}
int64_t his_payments(test::System& sys, const std::string& order) {
    return sys.his_count("H001", "SELECT count(*) FROM payments WHERE order_id = ?1", {order});
}

test::SystemOptions system_options(const char* faults) {
    return {.hospitals = {"H001"},
            .sim_faults = {{"H001", faults}},
            .his_params = {{"H001", R"({"idempotent_orders": false})"}},
            .broker_users = {"controlplane-ledger"}};
}

}  // namespace

TEST_CASE("ledger confirmation: a payment whose answer his-sim drops is settled by a probe, posted and never refunded") {
    test::System sys(system_options(R"({"drop_after_commit": 1})"));
    REQUIRE(sys.start());
    LedgerSide side(sys, quick());
    REQUIRE(test::eventually([&] { return side.online("H001"); }, 20s));

    const std::string id = "5e1f0c2a9b7d4e3f8a6c1b2d3e4f5a6b";
    REQUIRE(side.with([&](ledger::Confirmer& c, ledger::LedgerStore&) { return c.create(payment(id)).ok(); }));
    side.with([&](ledger::Confirmer& c, ledger::LedgerStore&) {
        c.on_payment_notification(id, 1500);
        return true;
    });
    REQUIRE(test::eventually([&] { return side.state(id) == TxState::Posted; }, 90s));
    INFO([&] {
        std::string all;
        for (const auto& e : side.evidence(id)) all += e + "; ";
        return all;
    }());
    CHECK(side.states_passed(id) ==
          std::vector<std::string>{"CREATED", "HELD", "DISPATCHED", "IN_DOUBT", "CONFIRMED", "POSTED"});
    auto evidence = side.evidence(id);
    CHECK(std::find(evidence.begin(), evidence.end(), "CONFIRMED probe:committed") != evidence.end());
    CHECK(side.refunded().empty());
    CHECK(his_executions(sys, id) == 1);  // the change reached the HIS once, and only once
}

TEST_CASE("ledger confirmation: a payment that never reached the HIS is revoked, rejected and refunded") {
    test::System sys(system_options("{}"));
    REQUIRE(sys.start());
    LedgerSide side(sys, quick());
    REQUIRE(test::eventually([&] { return side.online("H001"); }, 20s));
    // The change is lost: it leaves while the registry still holds the agent online, but the
    // agent is frozen (SIGSTOP), and then killed with it. (An agent the registry already
    // holds offline is never sent the change: the payment waits HELD, docs/ledger.md.)
    ::kill(sys.agent("H001").pid(), SIGSTOP);
    const std::string id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    REQUIRE(side.with([&](ledger::Confirmer& c, ledger::LedgerStore&) { return c.create(payment(id)).ok(); }));
    side.with([&](ledger::Confirmer& c, ledger::LedgerStore&) {
        c.on_payment_notification(id, 1500);
        return true;
    });
    REQUIRE(side.state(id) == TxState::Dispatched);
    sys.agent("H001").kill9();
    REQUIRE(test::eventually([&] { return !side.online("H001"); }, 20s));
    // Unanswered, then in doubt; the registry says the agent is away, so the probes are
    // held, not sent and not counted (docs/ledger.md, "An absent agent holds the attempts").
    REQUIRE(test::eventually([&] { return side.state(id) == TxState::InDoubt; }, 60s));
    REQUIRE(test::eventually(
        [&] { return side.with([](ledger::Confirmer& c, ledger::LedgerStore&) { return c.counters().deferred_away >= 2; }); },
        60s));
    CHECK(side.with([&](ledger::Confirmer& c, ledger::LedgerStore& s) {
        return c.counters().probes == 0 && s.get(id).value()->probes == 0;
    }));
    REQUIRE(sys.start_agent("H001"));
    REQUIRE(test::eventually([&] { return side.online("H001"); }, 30s));

    REQUIRE(test::eventually([&] { return side.state(id) == TxState::Refunded; }, 90s));
    INFO([&] {
        std::string all;
        for (const auto& e : side.evidence(id)) all += e + "; ";
        return all;
    }());
    CHECK(side.states_passed(id) ==
          std::vector<std::string>{"CREATED", "HELD", "DISPATCHED", "IN_DOUBT", "REJECTED", "REFUNDED"});
    auto evidence = side.evidence(id);
    CHECK(std::find(evidence.begin(), evidence.end(), "REJECTED his:revoked") != evidence.end());
    CHECK(side.refunded() == std::vector<std::string>{id});
    CHECK(his_payments(sys, id) == 0);
    // The lost change, arriving now, is refused by the agent's fence: the HIS stays empty.
    auto late = side.router().ask("H001", "payment.pay", {{"orderId", id}, {"amountCents", 1500}, {"method", "wechat_pay"}});
    REQUIRE_FALSE(late.answer.ok());
    CHECK(late.answer.error().code == "order.revoked");
    CHECK(his_executions(sys, id) == 0);
    CHECK(his_payments(sys, id) == 0);
}

TEST_CASE("ledger confirmation: a booking whose answer his-sim drops is settled by appointment.status and posted") {
    test::System sys(system_options(R"({"drop_after_commit": 1})"));
    REQUIRE(sys.start());
    // The owner's booking body: the slot as the replica knows it and the patient.
    controlplane::AgentHisPortOptions port_options;
    port_options.booking_body = [](const ledger::Transaction& t) -> Result<nlohmann::json> {
        return nlohmann::json{
            {"slot", {{"doctorId", "DR-201"}, {"departmentId", "D-02"}, {"date", sim::utc_today()}, {"half", "AM"}}},
            {"patient", {{"id", t.intent.patient_id}}}};
    };
    LedgerSide side(sys, quick(), std::move(port_options));
    REQUIRE(test::eventually([&] { return side.online("H001"); }, 20s));

    const std::string id = "b00c1e2d3f4a5b6c7d8e9f0a1b2c3d4e";
    auto booking = payment(id);
    booking.kind = ledger::TxKind::Booking;
    booking.purpose = "S-DR-201-" + sim::utc_today() + "-AM";
    REQUIRE(side.with([&](ledger::Confirmer& c, ledger::LedgerStore&) { return c.create(booking).ok(); }));
    REQUIRE(test::eventually([&] { return side.state(id) == TxState::Posted; }, 90s));
    INFO([&] {
        std::string all;
        for (const auto& e : side.evidence(id)) all += e + "; ";
        return all;
    }());
    CHECK(side.states_passed(id) ==
          std::vector<std::string>{"CREATED", "HELD", "DISPATCHED", "IN_DOUBT", "CONFIRMED", "POSTED"});
    CHECK(his_executions(sys, id, "book") == 1);
}

namespace {
// The provider's side for LedgerService: a payment that is posted never reaches the
// provider again, so any call here is recorded for the test to see.
struct RecordingProvider final : ledger::PaymentPort {
    std::mutex mu;
    std::vector<std::string> calls;
    void close(const std::string& id) override {
        std::lock_guard lock(mu);
        calls.push_back("close " + id);
    }
    void refund(const std::string& id, int64_t) override {
        std::lock_guard lock(mu);
        calls.push_back("refund " + id);
    }
    void refund_correction(const std::string& id, const std::string& order_id, int64_t) override {
        std::lock_guard lock(mu);
        calls.push_back("refund " + id + " of " + order_id);
    }
};
}  // namespace

TEST_CASE("ledger confirmation: AgentHisPort wired into money::LedgerService settles a dropped answer by a probe") {
    test::System sys(system_options(R"({"drop_after_commit": 1})"));
    REQUIRE(sys.start());
    RouterSide routing(sys);
    REQUIRE(test::eventually([&] { return routing.online("H001"); }, 20s));

    // The wiring hisgate-controlplane will use: the service opens after the port (it takes
    // the port) and resumes inside open(), so answers before it is set are dropped (the
    // confirmers' timers ask again); the service's on_* take its own lock.
    std::atomic<controlplane::money::LedgerService*> service{nullptr};
    controlplane::AgentHisPort port(*routing.router, [&](const controlplane::HisAnswer& a) {
        if (auto* s = service.load()) a.deliver_to(*s);
    });
    RecordingProvider provider;
    controlplane::money::LedgerSettings settings;
    settings.dir = routing.dir + "/ledgers";
    settings.confirmer = quick();
    auto opened = controlplane::money::LedgerService::open(settings, SystemClock::instance(), port, provider);
    REQUIRE(opened.ok());
    service = opened->get();
    (*opened)->start();
    // Shutdown order: the service's timer, then the port's workers (the last callers of the
    // service), and only then may the service go, then the port.
    struct Stop {
        std::function<void()> f;
        ~Stop() { f(); }
    } stop{[&] {
        (*opened)->stop();
        port.stop();
    }};

    const std::string id = "c0ffee00112233445566778899aabbcc";
    auto created = (*opened)->create(payment(id), ledger::PatientRegion{"", "", "44"});
    REQUIRE(created.ok());
    (*opened)->on_payment_notification(id, 1500);
    REQUIRE(test::eventually([&] {
        auto found = (*opened)->find(id);
        return found.ok() && found->transaction.state == TxState::Posted;
    }, 90s));
    auto history = (*opened)->history(id);
    REQUIRE(history.ok());
    std::vector<std::string> passed;
    for (const auto& e : *history)
        if (passed.empty() || passed.back() != e.to_state) passed.push_back(e.to_state);
    CHECK(passed == std::vector<std::string>{"CREATED", "HELD", "DISPATCHED", "IN_DOUBT", "CONFIRMED", "POSTED"});
    {
        std::lock_guard lock(provider.mu);
        CHECK(provider.calls.empty());
    }
    CHECK(his_executions(sys, id) == 1);
}
