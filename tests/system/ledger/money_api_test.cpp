// The money routes of the real control plane (issue 15 items 3, 4, 8 and bad input), end to
// end: hisgate-controlplane with its ledgers, real Mosquitto, the real agent and his-sim
// (idempotent_orders=false, drop_after_commit), and a real pay-sim the patient pays at and
// that notifies the control plane, signed. What happened is read from the parties' own
// records: his-sim's executions, pay-sim's order, the ledger's history.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/sqlite.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/partition_map.h"
#include "his-sim/hospital.h"
#include "tests/support/process.h"
#include "tests/support/running_pay_sim.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

struct Money {
    test::RunningPaySim pay;
    test::System sys;

    // `more`: merged into H001's parameter file (extraction, to have his-sim's slots in the
    // public primary). `max_reasks` below 0: not in the file (the default, at most max_probes / 2).
    // `offline_patience_ms` below 0: not in the file (24 h).
    // `probe_cap_ms`: how long an attempt held for an absent agent waits for its next slot.
    explicit Money(const char* faults = "{}", int max_probes = 1000, const char* more = "{}", int max_reasks = -1,
                   int offline_patience_ms = -1, int probe_cap_ms = 2000)
        : sys({.hospitals = {"H001"},
               .sim_faults = {{"H001", faults}},
               .his_params = {{"H001", R"({"idempotent_orders": false, "deferred_drain_interval": "1s"})"}},
               .more_params = {{"H001", more}},
               .controlplane_config = controlplane_config(pay, max_probes, max_reasks, offline_patience_ms, probe_cap_ms)}) {}

    static std::string controlplane_config(const test::RunningPaySim& pay, int max_probes, int max_reasks,
                                           int offline_patience_ms, int probe_cap_ms) {
        auto config = nlohmann::json{{"request_timeouts_ms",
                                      {{"payment.pay", 1000}, {"appointment.book", 1000}, {"payment.refund", 1000}}},
                                     {"ledger", {{"dir", pay.dir + "/ledgers"},
                                                 {"reply_timeout_ms", 2000},
                                                 {"first_probe_ms", 500},
                                                 {"probe_cap_ms", probe_cap_ms},
                                                 {"retry_ms", 1000},
                                                 {"max_probes", max_probes}}},
                                     {"payments", {{"url", "http://127.0.0.1:" + std::to_string(pay.port)},
                                                   {"key_file", pay.dir + "/merchant.key"}}}};
        if (max_reasks >= 0) config["ledger"]["max_reasks"] = max_reasks;
        if (offline_patience_ms >= 0) config["ledger"]["offline_patience_ms"] = offline_patience_ms;
        return config.dump();
    }

    std::map<std::string, std::string> as(const std::string& patient, const std::string& key = "") {
        auto h = sys.bearer("patient", patient);
        if (!key.empty()) h["Idempotency-Key"] = key;
        return h;
    }
    test::HttpReply pay_request(const std::string& patient, const std::string& key, const std::string& amount = "\"15.00\"",
                                const std::string& extra = "") {
        std::string body = R"({"hospitalId":"H001","patientId":")" + patient + R"(","amount":)" + amount +
                           R"(,"currency":"CNY","purpose":"outpatient")" + extra + "}";
        return sys.post("/api/v1/payments", body, as(patient, key));
    }
    nlohmann::json transaction(const std::string& patient, const std::string& id) {
        auto r = sys.get("/api/v1/transactions/" + id, as(patient));
        if (r.status != 200) return nlohmann::json::object();
        return nlohmann::json::parse(r.body);
    }
    std::string state(const std::string& patient, const std::string& id) {
        return transaction(patient, id).value("state", "");
    }
    nlohmann::json provider_order(const std::string& id) {
        auto r = test::http_get(pay.port, "/v3/pay/transactions/out-trade-no/" + id);
        return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
    }
};

// The patient pays at the provider's checkout the answer named.
int checkout(Money& m, const nlohmann::json& created) {
    return test::http_send(m.pay.port, "POST", "/v3/checkout/" + created["checkout"]["prepayId"].get<std::string>(), "{}")
        .status;
}

// The payment paid once and refunded once: his-sim executed its payment and its refund once
// each, and pay-sim refunded `fen` of it.
void check_refunded_once(Money& m, const std::string& id, int fen) {
    CHECK(m.sys.his_executions("H001", id, "pay") == 1);
    CHECK(m.sys.his_executions("H001", id, "refund") == 1);
    auto order = m.provider_order(id);
    INFO(order.dump());
    CHECK(order["trade_state"] == "REFUND");
    CHECK(order["amount"]["refund"] == fen);
}

bool history_has(const nlohmann::json& t, const std::string& to_state) {
    for (const auto& e : t.value("history", nlohmann::json::array()))
        if (e.value("to", "") == to_state) return true;
    return false;
}

}  // namespace

TEST_CASE("money api: a payment whose answer the HIS drops ends POSTED, paid once, never refunded") {
    Money m(R"({"drop_after_commit": 1})");
    REQUIRE(m.sys.start());
    auto created = m.pay_request("P1", "pay-1");
    INFO(created.body);
    REQUIRE(created.status == 201);
    auto body = nlohmann::json::parse(created.body);
    const std::string id = body["transactionId"];
    CHECK(created.headers["Location"] == "/api/v1/transactions/" + id);
    CHECK(body["state"] == "CREATED");
    CHECK(body["amount"] == "15.00");
    CHECK(body["partition"] == "south");  // the hospital's province (44) without an ID card or phone
    REQUIRE(checkout(m, body) == 200);

    REQUIRE(test::eventually([&] { return m.state("P1", id) == "POSTED"; }, 90s));
    auto t = m.transaction("P1", id);
    INFO(t.dump(1));
    CHECK(history_has(t, "IN_DOUBT"));   // the answer was lost: uncertain, not failed
    CHECK(history_has(t, "CONFIRMED"));  // and settled by evidence
    CHECK_FALSE(history_has(t, "REFUNDED"));
    CHECK(t["status"]["en"] == "paid");
    CHECK(m.sys.his_executions("H001", id, "pay") == 1);  // the change reached the HIS once
    auto order = m.provider_order(id);
    CHECK(order["trade_state"] == "SUCCESS");  // the provider kept the money: never refunded

    // The day reconciles: ledger POSTED, the HIS's statement and the provider's bill agree.
    const std::string token_file = m.sys.dir() + "/operator.token";
    test::write_file(token_file, m.sys.token("operator", "ops-li"));
    const std::string today = t["createdAt"].get<std::string>().substr(0, 10);
    auto run = test::run_capture({test::binary("cli/hisgate"), "reconcile", "--date", today, "--url",
                                  "http://127.0.0.1:" + std::to_string(m.sys.api_port()), "--token-file", token_file},
                                 180s);
    INFO(run.output);
    CHECK(run.status == 0);
    CHECK(run.output.find("matched") != std::string::npos);
}

TEST_CASE("money api: a payment the provider refunded behind the ledger's back is a reconciliation mismatch, booked for finance") {
    Money m;
    REQUIRE(m.sys.start());
    auto created = m.pay_request("P1", "rec-1");
    REQUIRE(created.status == 201);
    const auto body = nlohmann::json::parse(created.body);
    const std::string id = body["transactionId"];
    REQUIRE(checkout(m, body) == 200);
    REQUIRE(test::eventually([&] { return m.state("P1", id) == "POSTED"; }, 60s));
    // The provider refunds it by itself (an operator at the provider's console): the bill
    // and the ledger now disagree.
    auto refund = test::http_send(m.pay.port, "POST", "/v3/refund/domestic/refunds",
                                  R"({"out_trade_no":")" + id + R"(","out_refund_no":"manual-)" + id.substr(0, 8) +
                                      R"(","amount":{"refund":1500,"total":1500,"currency":"CNY"}})");
    REQUIRE(refund.status == 200);
    const std::string token_file = m.sys.dir() + "/operator.token";
    test::write_file(token_file, m.sys.token("operator", "ops-li"));
    auto run = test::run_capture({test::binary("cli/hisgate"), "reconcile", "--date",
                                  m.transaction("P1", id)["createdAt"].get<std::string>().substr(0, 10), "--json",
                                  "--url", "http://127.0.0.1:" + std::to_string(m.sys.api_port()), "--token-file",
                                  token_file},
                                 180s);
    INFO(run.output);
    CHECK(run.status == 1);
    CHECK(run.output.find(id) != std::string::npos);
    auto triage = m.sys.get("/api/v1/triage");
    INFO(triage.body);
    CHECK(triage.body.find("reconcile.state_mismatch.provider") != std::string::npos);
    CHECK(triage.body.find(R"("owner":"finance")") != std::string::npos);
}

TEST_CASE("money api: an Idempotency-Key answers its first answer, refuses other fields, and is required") {
    Money m;
    REQUIRE(m.sys.start());
    auto first = m.pay_request("P1", "k-1");
    REQUIRE(first.status == 201);
    auto again = m.pay_request("P1", "k-1");
    CHECK(again.status == 201);
    CHECK(again.headers["Idempotent-Replayed"] == "true");
    CHECK(nlohmann::json::parse(again.body)["transactionId"] == nlohmann::json::parse(first.body)["transactionId"]);
    CHECK(again.headers["Location"] == first.headers["Location"]);

    auto other = m.pay_request("P1", "k-1", "\"16.00\"");
    CHECK(other.status == 422);
    CHECK(other.code() == "idempotency.mismatch");
    CHECK(other.body.find("amount") != std::string::npos);

    // A refusal is the answer too: the same bad request with its key gets it again.
    auto bad = m.pay_request("P1", "k-2", "\"-1\"");
    CHECK(bad.status == 400);
    auto bad_again = m.pay_request("P1", "k-2", "\"-1\"");
    CHECK(bad_again.status == 400);
    CHECK(bad_again.headers["Idempotent-Replayed"] == "true");

    auto keyless = m.pay_request("P1", "");
    CHECK(keyless.status == 400);
    CHECK(keyless.code() == "idempotency.key_required");
    auto long_key = m.pay_request("P1", std::string(256, 'k'));
    CHECK(long_key.code() == "idempotency.bad_key");

    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].size() == 1);  // one intent, one transaction
}

TEST_CASE("money api: bad input gets a clear error and changes nothing") {
    Money m;
    REQUIRE(m.sys.start());
    struct Case {
        const char* amount;
        const char* extra;
        int status;
        const char* code;
    };
    const Case cases[] = {
        {"\"-1.00\"", "", 400, "ledger.bad_amount"},   {"\"0\"", "", 400, "ledger.bad_amount"},
        {"\"0.00\"", "", 400, "ledger.bad_amount"},    {"\"1000000.01\"", "", 400, "ledger.bad_amount"},
        {"\"1.234\"", "", 400, "ledger.bad_amount"},   {"\"abc\"", "", 400, "ledger.bad_amount"},
        {"12.5", "", 400, "ledger.bad_amount"},        {"\"1e3\"", "", 400, "ledger.bad_amount"},
        {"\"12.50\"", R"(,"idCard":"110101199003077777")", 400, "partition.bad_id_card"},
        {"\"12.50\"", R"(,"phone":"12345")", 400, "partition.bad_phone"},
    };
    int n = 0;
    for (const auto& c : cases) {
        auto r = m.pay_request("P1", "bad-" + std::to_string(n++), c.amount, c.extra);
        INFO(c.amount << c.extra << " -> " << r.body);
        CHECK(r.status == c.status);
        CHECK(r.code() == c.code);
        CHECK(r.body.find("110101199003077777") == std::string::npos);  // never repeats the card
    }
    auto usd = m.sys.post("/api/v1/payments",
                          R"({"hospitalId":"H001","patientId":"P1","amount":"1.00","currency":"USD","purpose":"x"})",
                          m.as("P1", "bad-usd"));
    CHECK(usd.status == 400);
    CHECK(usd.code() == "ledger.bad_currency");
    auto shape = m.sys.post("/api/v1/payments",
                            R"({"hospitalId":"H001","patientId":"P 1","amount":"1.00","currency":"CNY","purpose":"x"})",
                            m.sys.bearer("service", "portal") /* a service pays for anyone */);
    CHECK(shape.code() == "idempotency.key_required");
    auto shape_keyed = m.sys.post(
        "/api/v1/payments", R"({"hospitalId":"H001","patientId":"P 1","amount":"1.00","currency":"CNY","purpose":"x"})",
        [&] {
            auto h = m.sys.bearer("service", "portal");
            h["Idempotency-Key"] = "bad-shape";
            return h;
        }());
    CHECK(shape_keyed.status == 400);
    CHECK(shape_keyed.code() == "ledger.bad_patient_id");
    auto not_json = m.sys.post("/api/v1/payments", "{not json", m.as("P1", "bad-json"));
    CHECK(not_json.status == 400);

    // A refund over what was paid, and of the wrong kind of transaction.
    auto created = m.pay_request("P1", "good");
    REQUIRE(created.status == 201);
    const std::string id = nlohmann::json::parse(created.body)["transactionId"];
    auto over = m.sys.post("/api/v1/payments/" + id + "/refund", R"({"amount":"15.01"})", m.as("P1", "refund-over"));
    CHECK(over.status == 400);
    CHECK(over.code() == "refund.over_paid");
    auto as_booking = m.sys.post("/api/v1/bookings/" + id + "/cancel", "{}", m.as("P1", "cancel-wrong-kind"));
    CHECK(as_booking.status == 400);
    CHECK(as_booking.code() == "transaction.wrong_kind");
    CHECK(m.state("P1", id) == "CREATED");  // none of it changed the payment

    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].size() == 1);  // only the good one
}

TEST_CASE("money api: a refund before the payment reached the hospital closes or returns it, and patients see only their own") {
    Money m;
    REQUIRE(m.sys.start());
    // Unpaid: the refund closes the provider's order, nothing was taken.
    auto unpaid = m.pay_request("P1", "u-1");
    REQUIRE(unpaid.status == 201);
    const std::string unpaid_id = nlohmann::json::parse(unpaid.body)["transactionId"];
    auto refunded = m.sys.post("/api/v1/payments/" + unpaid_id + "/refund", "", m.as("P1", "u-1-refund"));
    INFO(refunded.body);
    CHECK(refunded.status == 200);
    REQUIRE(test::eventually([&] { return m.state("P1", unpaid_id) == "VOIDED"; }, 30s));
    CHECK(m.provider_order(unpaid_id)["trade_state"] == "CLOSED");

    // Another patient's transaction is not there for them: 404, like an id that never was.
    auto theirs = m.sys.get("/api/v1/transactions/" + unpaid_id, m.as("P2"));
    CHECK(theirs.status == 404);
    auto cancel_theirs = m.sys.post("/api/v1/payments/" + unpaid_id + "/refund", "", m.as("P2", "p2-refund"));
    CHECK(cancel_theirs.status == 404);
    auto never = m.sys.get("/api/v1/transactions/00112233445566778899aabbccddeeff", m.as("P1"));
    CHECK(never.status == 404);
    auto list_theirs = m.sys.get("/api/v1/transactions?patientId=P1", m.as("P2"));
    CHECK(list_theirs.status == 403);
    auto for_p1 = m.pay_request("P2", "p2-for-p1", "\"1.00\"");  // P2's token naming P2: fine
    CHECK(for_p1.status == 201);
    auto as_other = m.sys.post("/api/v1/payments",
                               R"({"hospitalId":"H001","patientId":"P1","amount":"1.00","currency":"CNY","purpose":"x"})",
                               m.as("P2", "p2-pays-p1"));
    CHECK(as_other.status == 403);  // a patient pays only for themself
    CHECK(as_other.code() == "auth.forbidden");
}

TEST_CASE("money api: a provider notification with a bad signature is refused and counted, and changes nothing") {
    Money m;
    REQUIRE(m.sys.start());
    auto created = m.pay_request("P1", "sig-1");
    REQUIRE(created.status == 201);
    const std::string id = nlohmann::json::parse(created.body)["transactionId"];
    const std::string forged =
        R"({"id":"e1","create_time":"2026-01-05T08:00:00Z","event_type":"TRANSACTION.SUCCESS","resource_type":"plain",)"
        R"("resource":{"out_trade_no":")" + id + R"(","transaction_id":"t1","trade_state":"SUCCESS",)"
        R"("success_time":"2026-01-05T08:00:00Z","amount":{"total":1500,"currency":"CNY"}}})";
    auto now = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    auto r = test::http_send(m.sys.api_port(), "POST", "/api/v1/provider/notify", forged,
                             {{"Wechatpay-Timestamp", now},
                              {"Wechatpay-Nonce", "n1"},
                              {"Wechatpay-Signature", std::string(64, '0')}});
    CHECK(r.status == 401);
    CHECK(m.state("P1", id) == "CREATED");  // not paid by a forged word
    auto metrics = m.sys.get("/metrics");
    CHECK(test::metric_value(metrics.body, "hisgate_provider_notices_refused_total") >= 1);
}

TEST_CASE("money api: a payment the hospital never answers reaches the operators' queue, and hisgate ledger resolve settles it") {
    Money m("{}", 2, "{}", -1, 8000);  // its probes held while the agent is away, for 8 s
    REQUIRE(m.sys.start());
    auto created = m.pay_request("P1", "manual-1");
    REQUIRE(created.status == 201);
    const auto body = nlohmann::json::parse(created.body);
    const std::string id = body["transactionId"];
    // The change leaves while the registry still holds the agent online, but the agent is
    // frozen (SIGSTOP) and then killed: the answer never comes, the payment is IN_DOUBT, and
    // with the agent away (the registry knows it) no probe can be asked. (A payment paid
    // while the registry already says offline waits HELD instead, never sent: the next case.)
    ::kill(m.sys.agent("H001").pid(), SIGSTOP);
    REQUIRE(checkout(m, body) == 200);
    REQUIRE(test::eventually([&] { return m.state("P1", id) == "DISPATCHED" || m.state("P1", id) == "IN_DOUBT"; }, 20s));
    m.sys.agent("H001").kill9();
    REQUIRE(test::eventually(
        [&] {
            auto hs = m.sys.online_hospitals();
            return std::find(hs.begin(), hs.end(), "H001") == hs.end();
        },
        20s));
    REQUIRE(test::eventually([&] { return m.transaction("P1", id).value("manual", false); }, 60s));
    CHECK(m.state("P1", id) == "IN_DOUBT");
    CHECK(m.transaction("P1", id)["status"]["en"] == "confirming with the hospital");
    // Nothing could be asked: the queue says since when the agent was offline, not "probes unanswered".
    bool offline_reason = false;
    const auto queued = m.transaction("P1", id);
    for (const auto& e : queued["history"])
        offline_reason = offline_reason || (e.value("event", "") == "manual" &&
                                            e.value("evidence", "").find("H001's agent offline since") != std::string::npos);
    INFO(queued["history"].dump(1));
    CHECK(offline_reason);

    const std::string token_file = m.sys.dir() + "/operator.token";
    test::write_file(token_file, m.sys.token("operator", "ops-li"));
    const std::string api = "http://127.0.0.1:" + std::to_string(m.sys.api_port());
    auto listed = test::run_capture({test::binary("cli/hisgate"), "ledger", "list", "--state", "in_doubt", "--manual",
                                     "true", "--url", api, "--token-file", token_file});
    INFO(listed.output);
    CHECK(listed.status == 0);
    CHECK(listed.output.find(id) != std::string::npos);
    CHECK(listed.output.find("hisgate ledger resolve") != std::string::npos);  // how to settle it

    auto resolved = test::run_capture({test::binary("cli/hisgate"), "ledger", "resolve", id, "--outcome", "rejected",
                                       "--evidence", "called the hospital: no such payment", "--url", api,
                                       "--token-file", token_file});
    INFO(resolved.output);
    CHECK(resolved.status == 0);
    // "Not done" is not settled on the operator's word alone: the payment's request may
    // still sit at the agent (or at the broker for it), so it is revoked there first.
    CHECK(resolved.output.find("revoking it at the hospital's agent") != std::string::npos);
    CHECK(m.state("P1", id) == "IN_DOUBT");
    CHECK(m.transaction("P1", id).value("revoking", false));
    REQUIRE(m.sys.start_agent("H001"));
    // The revoke settles it by the HIS's own records: the frozen agent's copy of the change
    // was lost with it (refunded, his-sim never paid), unless it reached the HIS after all
    // (then the revoke finds it committed: POSTED, and the operator's word is overruled).
    REQUIRE(test::eventually([&] { return m.state("P1", id) == "REFUNDED" || m.state("P1", id) == "POSTED"; }, 60s));
    auto t = m.transaction("P1", id);
    INFO(t.dump(1));
    bool by_operator = false;
    for (const auto& e : t["history"]) by_operator = by_operator || e.value("actor", "") == "operator:ops-li";
    CHECK(by_operator);  // audited: who settled it, with the evidence
    const auto paid_at_his = m.sys.his_executions("H001", id, "pay");
    CHECK(paid_at_his <= 1);
    CHECK(t["state"] == (paid_at_his == 1 ? "POSTED" : "REFUNDED"));
    CHECK(m.provider_order(id)["trade_state"] == (paid_at_his == 1 ? "SUCCESS" : "REFUND"));

    // A patient cannot list or resolve.
    auto patient_list = m.sys.get("/api/v1/ledger/transactions?state=in_doubt", m.as("P1"));
    CHECK(patient_list.status == 403);
}

// Corrections after POSTED (docs/ledger.md, "Corrections after POSTED").
namespace {
// A payment of 15.00 by P1, paid and POSTED; its id.
std::string posted_payment(Money& m, const std::string& key) {
    auto created = m.pay_request("P1", key);
    REQUIRE(created.status == 201);
    const auto body = nlohmann::json::parse(created.body);
    const std::string id = body["transactionId"];
    REQUIRE(checkout(m, body) == 200);
    REQUIRE(test::eventually([&] { return m.state("P1", id) == "POSTED"; }, 60s));
    return id;
}
// The hospital's reconciliation of the day `id` was made, through hisgate reconcile.
test::Captured reconcile_day(Money& m, const std::string& id) {
    const std::string token_file = m.sys.dir() + "/operator.token";
    test::write_file(token_file, m.sys.token("operator", "ops-li"));
    return test::run_capture({test::binary("cli/hisgate"), "reconcile", "--date",
                              m.transaction("P1", id)["createdAt"].get<std::string>().substr(0, 10), "--url",
                              "http://127.0.0.1:" + std::to_string(m.sys.api_port()), "--token-file", token_file},
                             180s);
}
}  // namespace

TEST_CASE("money api: a refund after POSTED is a correction done once at the HIS and then at pay-sim - a second is refused") {
    Money m;
    REQUIRE(m.sys.start());
    const std::string id = posted_payment(m, "ra-1");
    auto over = m.sys.post("/api/v1/payments/" + id + "/refund", R"({"amount":"15.01"})", m.as("P1", "ra-over"));
    CHECK(over.status == 400);
    CHECK(over.code() == "refund.over_paid");

    auto refund = m.sys.post("/api/v1/payments/" + id + "/refund", "", m.as("P1", "ra-refund"));
    INFO(refund.body);
    REQUIRE(refund.status == 201);
    const auto fix = nlohmann::json::parse(refund.body);
    const std::string fix_id = fix["transactionId"];
    CHECK(fix_id != id);
    CHECK(refund.headers["Location"] == "/api/v1/transactions/" + fix_id);
    CHECK(fix["kind"] == "refund");
    CHECK(fix["corrects"] == id);
    CHECK(fix["amount"] == "15.00");
    auto replay = m.sys.post("/api/v1/payments/" + id + "/refund", "", m.as("P1", "ra-refund"));
    CHECK(replay.status == 201);
    CHECK(replay.headers["Idempotent-Replayed"] == "true");
    CHECK(nlohmann::json::parse(replay.body)["transactionId"] == fix_id);

    REQUIRE(test::eventually([&] { return m.state("P1", fix_id) == "POSTED"; }, 60s));
    CHECK(m.transaction("P1", fix_id)["status"]["en"] == "refunded");
    auto original = m.transaction("P1", id);
    INFO(original.dump(1));
    CHECK(original["state"] == "POSTED");  // terminal: the correction is a new entry
    REQUIRE(original["corrections"].size() == 1);
    CHECK(original["corrections"][0]["transactionId"] == fix_id);
    CHECK(original["corrections"][0]["state"] == "POSTED");
    check_refunded_once(m, id, 1500);

    // A second refund is refused, naming the first; nothing changes anywhere.
    auto second = m.sys.post("/api/v1/payments/" + id + "/refund", "", m.as("P1", "ra-refund-2"));
    INFO(second.body);
    CHECK(second.status == 409);
    CHECK(second.code() == "ledger.already_corrected");
    CHECK(second.body.find(fix_id) != std::string::npos);
    // A correction is neither refunded nor cancelled itself.
    auto of_fix = m.sys.post("/api/v1/payments/" + fix_id + "/refund", "", m.as("P1", "ra-refund-fix"));
    CHECK(of_fix.status == 400);
    CHECK(of_fix.code() == "transaction.wrong_kind");
    CHECK(m.transaction("P1", id)["corrections"].size() == 1);
    CHECK(m.sys.his_executions("H001", id, "refund") == 1);
    CHECK(m.provider_order(id)["amount"]["refund"] == 1500);

    // The day reconciles: the HIS and pay-sim both hold the payment and its refund.
    auto run = reconcile_day(m, id);
    INFO(run.output);
    CHECK(run.status == 0);
}

TEST_CASE("money api: a refund after POSTED whose answer the HIS drops is settled by a probe and refunded exactly once") {
    Money m;
    REQUIRE(m.sys.start());
    const std::string id = posted_payment(m, "rd-1");
    // The HIS now loses the answer of the next change it commits: the refund's.
    auto armed = test::http_send(m.sys.sim_control_port("H001"), "PUT", "/faults", R"({"drop_after_commit":1})");
    REQUIRE(armed.status == 200);
    auto refund = m.sys.post("/api/v1/payments/" + id + "/refund", "", m.as("P1", "rd-refund"));
    INFO(refund.body);
    REQUIRE(refund.status == 201);
    const std::string fix_id = nlohmann::json::parse(refund.body)["transactionId"];
    REQUIRE(test::eventually([&] { return m.state("P1", fix_id) == "POSTED"; }, 90s));
    auto t = m.transaction("P1", fix_id);
    INFO(t.dump(1));
    CHECK(history_has(t, "IN_DOUBT"));  // the answer was lost: uncertain, not failed
    CHECK(history_has(t, "CONFIRMED"));
    CHECK(m.state("P1", id) == "POSTED");
    CHECK(m.sys.his_executions("H001", id, "refund") == 1);
    auto order = m.provider_order(id);
    CHECK(order["trade_state"] == "REFUND");
    CHECK(order["amount"]["refund"] == 1500);
    auto run = reconcile_day(m, id);
    INFO(run.output);
    CHECK(run.status == 0);
}

// An agent taken away (kill -9) for longer than max_probes slots, with a payment in doubt
// (committed at the HIS, its answer lost) and a refund owed (asked while the agent is away):
// nothing is marked failed or refunded blindly, nothing is sent to the absent agent, a new
// payment is refused at once (503 hospital.offline, nothing created), and when the agent is
// back the fleet registry's word wakes the held attempts: both settle well before their
// held slot (probe_cap 60 s), with his-sim's and pay-sim's records as the judge.
TEST_CASE("money api: an agent killed for longer than max_probes slots - a payment in doubt and a refund owed wait unsent; its return settles both at once") {
    Money m("{}", 2, "{}", -1, -1, 60000);
    REQUIRE(m.sys.start());
    const std::string a = posted_payment(m, "aa-a");
    auto online = [&] {
        auto hs = m.sys.online_hospitals();
        return std::find(hs.begin(), hs.end(), "H001") != hs.end();
    };
    // B: his-sim commits it and loses the answer; the agent is killed right after.
    REQUIRE(test::http_send(m.sys.sim_control_port("H001"), "PUT", "/faults", R"({"drop_after_commit":1})").status == 200);
    auto created = m.pay_request("P1", "aa-b");
    REQUIRE(created.status == 201);
    const auto b_body = nlohmann::json::parse(created.body);
    const std::string b = b_body["transactionId"];
    REQUIRE(checkout(m, b_body) == 200);
    REQUIRE(test::eventually([&] { return m.sys.his_executions("H001", b, "pay") == 1; }, 30s));
    m.sys.agent("H001").kill9();
    REQUIRE(test::eventually([&] { return !online(); }, 20s));
    REQUIRE(test::eventually([&] { return m.state("P1", b) == "IN_DOUBT"; }, 30s));

    // A refund of A asked now: owed, accepted, and held (never sent) while the agent is away.
    auto refund = m.sys.post("/api/v1/payments/" + a + "/refund", "", m.as("P1", "aa-refund"));
    INFO(refund.body);
    REQUIRE(refund.status == 201);
    const std::string fix = nlohmann::json::parse(refund.body)["transactionId"];
    CHECK(nlohmann::json::parse(refund.body)["state"] == "HELD");
    // A new payment and a new booking are refused at once, nothing created.
    auto refused = m.pay_request("P1", "aa-c");
    INFO(refused.body);
    CHECK(refused.status == 503);
    CHECK(refused.code() == "hospital.offline");
    CHECK(refused.headers["Retry-After"] == "30");
    auto booking = m.sys.post("/api/v1/bookings", R"({"hospitalId":"H001","slotId":"S1","patientId":"P1"})",
                              m.as("P1", "aa-booking"));
    CHECK(booking.status == 503);
    CHECK(booking.code() == "hospital.offline");

    // Away longer than max_probes (2) slots would take (0.5 s, 1 s), and than a reply timeout.
    std::this_thread::sleep_for(5s);
    auto held_b = m.transaction("P1", b);
    INFO(held_b.dump(1));
    CHECK(held_b["state"] == "IN_DOUBT");
    CHECK_FALSE(held_b.value("manual", false));
    CHECK(history_has(held_b, "IN_DOUBT"));
    CHECK_FALSE(history_has(held_b, "REJECTED"));
    bool deferred = false;
    for (const auto& e : held_b["history"]) deferred = deferred || e.value("event", "") == "deferred";
    CHECK(deferred);
    CHECK(m.state("P1", fix) == "HELD");
    CHECK(m.sys.his_executions("H001", a, "refund") == 0);
    CHECK(m.provider_order(b)["trade_state"] == "SUCCESS");  // nothing refunded blindly
    CHECK(m.provider_order(a)["trade_state"] == "SUCCESS");

    REQUIRE(m.sys.start_agent("H001"));
    REQUIRE(test::eventually(online, 30s));
    const auto back = std::chrono::steady_clock::now();
    // Woken by the registry: the held slots are about a minute away.
    REQUIRE(test::eventually([&] { return m.state("P1", b) == "POSTED" && m.state("P1", fix) == "POSTED"; }, 30s));
    const auto settled_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - back).count();
    WARN("both settled " << settled_ms << " ms after the registry saw the agent back (held slots: probe_cap 60 s)");
    auto t = m.transaction("P1", b);
    INFO(t.dump(1));
    CHECK(history_has(t, "CONFIRMED"));  // settled by evidence
    CHECK_FALSE(history_has(t, "REFUNDED"));
    for (const auto& e : t["history"]) CHECK(e.value("actor", "").rfind("operator:", 0) == std::string::npos);
    CHECK(m.sys.his_executions("H001", b, "pay") == 1);  // no double charge
    CHECK(m.provider_order(b)["trade_state"] == "SUCCESS");
    check_refunded_once(m, a, 1500);
    CHECK(m.sys.his_executions("H001", a, "pay") == 1);
    // The refused payment's key was let go: sent again once the agent is back, it is created.
    auto again = m.pay_request("P1", "aa-c");
    INFO(again.body);
    CHECK(again.status == 201);
    auto run = reconcile_day(m, a);
    INFO(run.output);
    CHECK(run.status == 0);
}

TEST_CASE("money api: bad corrections - an unknown id, a booking refunded, a payment cancelled - change nothing") {
    Money m;
    REQUIRE(m.sys.start());
    auto unknown = m.sys.post("/api/v1/payments/00112233445566778899aabbccddeeff/refund", "", m.as("P1", "bc-unknown"));
    CHECK(unknown.status == 404);
    CHECK(unknown.code() == "transaction.unknown");
    auto unknown_booking =
        m.sys.post("/api/v1/bookings/00112233445566778899aabbccddeeff/cancel", "", m.as("P1", "bc-unknown-b"));
    CHECK(unknown_booking.status == 404);

    auto booked = m.sys.post("/api/v1/bookings", R"({"hospitalId":"H001","slotId":"S1","patientId":"P1"})",
                             m.as("P1", "bc-book"));
    INFO(booked.body);
    REQUIRE(booked.status == 201);
    const std::string booking = nlohmann::json::parse(booked.body)["transactionId"];
    const auto booking_before = m.transaction("P1", booking)["history"].size();
    auto refund_booking = m.sys.post("/api/v1/payments/" + booking + "/refund", "", m.as("P1", "bc-refund-booking"));
    INFO(refund_booking.body);
    CHECK(refund_booking.status == 400);
    CHECK(refund_booking.code() == "transaction.wrong_kind");
    CHECK(refund_booking.body.find("bookings/{id}/cancel") != std::string::npos);

    const std::string id = posted_payment(m, "bc-pay");
    auto cancel_payment = m.sys.post("/api/v1/bookings/" + id + "/cancel", "", m.as("P1", "bc-cancel-payment"));
    INFO(cancel_payment.body);
    CHECK(cancel_payment.status == 400);
    CHECK(cancel_payment.code() == "transaction.wrong_kind");
    CHECK(m.state("P1", id) == "POSTED");
    CHECK(m.transaction("P1", id).value("corrections", nlohmann::json::array()).empty());
    CHECK(m.transaction("P1", booking)["history"].size() >= booking_before);  // only its own road moved it
    CHECK(m.sys.his_executions("H001", id, "refund") == 0);
    CHECK(m.provider_order(id)["trade_state"] == "SUCCESS");
    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].size() == 2);  // the booking and the payment, no correction
}

TEST_CASE("money api: a partition switch in progress answers 503 with Retry-After and creates nothing") {
    Money m;
    REQUIRE(m.sys.start());
    // Another hand publishes the map's next epoch, which this control plane has not installed
    // (as a second control plane on the same ledger directory would): its writes wait, then
    // answer ledger.switching.
    auto maps = ledger::open_sqlite_partition_map_store(m.pay.dir + "/ledgers/partition-map.db");
    REQUIRE(maps);
    auto current = (*maps)->current();
    REQUIRE(current);
    REQUIRE((*maps)->publish(current->epoch, current->partition_of_province, 1));
    auto r = m.pay_request("P1", "sw-1");
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(r.code() == "ledger.switching");
    CHECK(r.headers["Retry-After"] == "1");
    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].empty());
}

// The test system's public primary holds no slot S1, so the booking's body cannot be built
// and the booking never reaches the HIS (his_port.booking_not_sent): with no answer it is
// IN_DOUBT, a probe finds nothing, the revoke fences it, and only then is the payment,
// POSTED at the HIS, refunded by a correction (the HIS first, then pay-sim), once.
TEST_CASE("money api: a prepaid booking the HIS never gets after its payment POSTED - revoked, then refunded once") {
    Money m(R"({"drop_after_commit": 1})");
    REQUIRE(m.sys.start());
    const std::string request =
        R"({"hospitalId":"H001","slotId":"S1","patientId":"P1","prepay":{"amount":"25.00","currency":"CNY"}})";
    auto created = m.sys.post("/api/v1/bookings", request, m.as("P1", "prepaid-1"));
    INFO(created.body);
    REQUIRE(created.status == 201);
    auto body = nlohmann::json::parse(created.body);
    const std::string booking = body["transactionId"];
    const std::string payment = body["payment"]["transactionId"];
    CHECK(created.headers["Location"] == "/api/v1/transactions/" + booking);
    CHECK(body["state"] == "HELD");  // the slot is held; nothing goes to the hospital before the payment
    CHECK(body["binds"] == payment);
    CHECK(body["payment"]["binds"] == booking);
    CHECK(body["payment"]["amount"] == "25.00");
    CHECK(body["payment"]["state"] == "CREATED");
    // The same key and body: the same pair, nothing created twice.
    auto again = m.sys.post("/api/v1/bookings", request, m.as("P1", "prepaid-1"));
    CHECK(again.status == 201);
    CHECK(nlohmann::json::parse(again.body)["payment"]["transactionId"] == payment);

    REQUIRE(checkout(m, body["payment"]) == 200);
    bool released = test::eventually([&] { return m.state("P1", booking) == "VOIDED"; }, 90s);
    auto paid = m.transaction("P1", payment);
    INFO(paid.dump(1));
    INFO(m.transaction("P1", booking).dump(1));
    REQUIRE(released);
    CHECK(paid["state"] == "POSTED");
    CHECK(history_has(paid, "IN_DOUBT"));  // the payment's answer was dropped and settled by evidence
    CHECK_FALSE(history_has(paid, "REFUNDED"));
    REQUIRE(paid["corrections"].size() == 1);
    const std::string fix = paid["corrections"][0]["transactionId"];
    REQUIRE(test::eventually([&] { return m.state("P1", fix) == "POSTED"; }, 60s));
    CHECK(m.sys.his_executions("H001", payment, "pay") == 1);
    CHECK(m.sys.his_executions("H001", booking, "book") == 0);
    CHECK(m.sys.his_executions("H001", payment, "refund") == 1);
    auto order = m.provider_order(payment);
    INFO(order.dump());
    CHECK(order["trade_state"] == "REFUND");
    CHECK(order["amount"]["refund"] == 2500);

    // A prepay that is not an amount changes nothing.
    auto bad = m.sys.post("/api/v1/bookings",
                          R"({"hospitalId":"H001","slotId":"S1","patientId":"P1","prepay":{"amount":"-1","currency":"CNY"}})",
                          m.as("P1", "prepaid-bad"));
    CHECK(bad.status == 400);
    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].size() == 3);  // booking, payment, refund
}

namespace {

// Whether the control plane's public primary holds the slot (his-sim's seeded slots reach
// it by the agent's extraction).
bool primary_has_slot(Money& m, const std::string& slot_id) {
    auto db = sql::Db::open(m.sys.dir() + "/data/controlplane-cp1.db");
    if (!db) return false;
    auto st = db->prepare("SELECT count(*) FROM ref_slots WHERE hospital_id = 'H001' AND record_key = ?1");
    if (!st) return false;
    st->bind(1, slot_id);
    return st->step() && st->integer(0) == 1;
}

// A prepaid booking of `slot` (a quota his-sim seeded, once the primary holds it) for 15.00,
// paid at pay-sim and booked at his-sim: both POSTED. {booking id, payment id}.
std::pair<std::string, std::string> posted_prepaid(Money& m, const std::string& slot, const std::string& key) {
    REQUIRE(test::eventually([&] { return primary_has_slot(m, slot); }, 30s));
    auto created = m.sys.post("/api/v1/bookings",
                              R"({"hospitalId":"H001","slotId":")" + slot +
                                  R"(","patientId":"P1","prepay":{"amount":"15.00","currency":"CNY"}})",
                              m.as("P1", key));
    INFO(created.body);
    REQUIRE(created.status == 201);
    auto body = nlohmann::json::parse(created.body);
    const std::string booking = body["transactionId"];
    REQUIRE(checkout(m, body["payment"]) == 200);
    REQUIRE(test::eventually([&] { return m.state("P1", booking) == "POSTED"; }, 60s));
    return {booking, body["payment"]["transactionId"].get<std::string>()};
}

// Pushes H001's parameter file with `rules` as its appointment rules, applied now: the set
// the control plane takes a booking's cancellation deadline from.
std::string push_cancel_rules(Money& m, const nlohmann::json& rules) {
    auto set = nlohmann::json::parse(test::read_file(m.sys.params_file("H001")));
    set["appointment"] = {{"timezone", "Asia/Shanghai"}, {"rules", rules}};
    auto r = m.sys.post("/api/v1/config/push", nlohmann::json{{"target", "H001"}, {"params", set}, {"mode", "now"}}.dump());
    if (r.status != 200) return "HTTP " + std::to_string(r.status) + " " + r.body;
    return nlohmann::json::parse(r.body)["results"][0].value("status", "");
}

}  // namespace

// A booking his-sim holds (POSTED), cancelled past the hospital's cancellation deadline (its
// rule, from the parameters the control plane pushed and the agent applied): a clear error,
// and nothing changes: no correction, nothing sent to the HIS. With the deadline ahead the
// same cancel is a correction, done once at the HIS.
TEST_CASE("money api: a cancel after the booking's cancellation deadline is refused and changes nothing") {
    Money m("{}", 1000, R"({"extraction": {"interval": "10s"}})");
    REQUIRE(m.sys.start());
    // A morning quota (his-sim's timed slots' ids hold a ':', which ids may not): it starts at
    // 00:00 of its day for the rule.
    const std::string slot = "S-DR-201-" + sim::add_days(sim::utc_today(), 2) + "-AM";
    REQUIRE(test::eventually([&] { return primary_has_slot(m, slot); }, 30s));
    // 30 days before the start: this booking's deadline has passed.
    REQUIRE(push_cancel_rules(m, nlohmann::json::parse(R"([{"rule": "cancellation_deadline", "minutes_before": 43200}])")) ==
            "applied");

    auto booked = m.sys.post("/api/v1/bookings", R"({"hospitalId":"H001","slotId":")" + slot + R"(","patientId":"P1"})",
                             m.as("P1", "dl-book"));
    INFO(booked.body);
    REQUIRE(booked.status == 201);
    const std::string booking = nlohmann::json::parse(booked.body)["transactionId"];
    CHECK(nlohmann::json::parse(booked.body)["amount"] == "15.00");  // the slot's fee: the primary knows it
    REQUIRE(test::eventually([&] { return m.state("P1", booking) == "POSTED"; }, 60s));
    CHECK(m.sys.his_executions("H001", booking, "book") == 1);
    const auto history_before = m.transaction("P1", booking)["history"].size();

    auto late = m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "dl-cancel"));
    INFO(late.body);
    CHECK(late.status == 422);
    CHECK(late.code() == "appointment.cancellation_deadline.passed");
    const std::string why = nlohmann::json::parse(late.body).value("message", "");
    CHECK(why.find(booking) != std::string::npos);  // what
    CHECK(why.find(slot) != std::string::npos);     // where
    CHECK(why.find("up to 30 days before they start, so the deadline for this one was") != std::string::npos);  // expected
    auto replay = m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "dl-cancel"));
    CHECK(replay.status == 422);  // the key's stored answer
    auto after = m.transaction("P1", booking);
    CHECK(after["state"] == "POSTED");
    CHECK(after["history"].size() == history_before);
    CHECK(after.value("corrections", nlohmann::json::array()).empty());
    CHECK(m.sys.his_executions("H001", booking, "cancel") == 0);
    auto mine = m.sys.get("/api/v1/transactions", m.as("P1"));
    REQUIRE(mine.status == 200);
    CHECK(nlohmann::json::parse(mine.body)["transactions"].size() == 1);  // no correction was created

    // The hospital moves its deadline to the start itself: the same booking may be cancelled now.
    REQUIRE(push_cancel_rules(m, nlohmann::json::parse(R"([{"rule": "cancellation_deadline", "minutes_before": 0}])")) ==
            "applied");
    auto in_time = m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "dl-cancel-2"));
    INFO(in_time.body);
    REQUIRE(in_time.status == 201);
    const std::string fix = nlohmann::json::parse(in_time.body)["transactionId"];
    CHECK(test::eventually([&] { return m.state("P1", fix) == "POSTED"; }, 60s));
    CHECK(m.sys.his_executions("H001", booking, "cancel") == 1);

    // A booking the hospital's rules refuse (four days ahead, where it books one): REJECTED,
    // never at his-sim, and the transaction names the rule, for the patient's screen.
    REQUIRE(push_cancel_rules(m, nlohmann::json::parse(R"([{"rule": "max_days_ahead", "days": 1}])")) == "applied");
    const std::string far = "S-DR-201-" + sim::add_days(sim::utc_today(), 4) + "-PM";
    REQUIRE(test::eventually([&] { return primary_has_slot(m, far); }, 30s));
    auto refused = m.sys.post("/api/v1/bookings", R"({"hospitalId":"H001","slotId":")" + far + R"(","patientId":"P1"})",
                              m.as("P1", "dl-far"));
    INFO(refused.body);
    REQUIRE(refused.status == 201);
    const std::string ruled = nlohmann::json::parse(refused.body)["transactionId"];
    REQUIRE(test::eventually([&] { return m.state("P1", ruled) == "VOIDED"; }, 60s));
    auto seen = m.transaction("P1", ruled);
    CHECK(seen["refusal"]["code"] == "appointment.max_days_ahead.too_far");
    CHECK(m.sys.his_executions("H001", ruled, "book") == 0);
}

// A prepaid booking that reaches his-sim (a slot the primary holds): paid at pay-sim, booked
// at his-sim, both POSTED; the patient cancels it: his-sim cancels the booking, and only then
// is the payment refunded by a correction, at his-sim and then at pay-sim, once each.
TEST_CASE("money api: a POSTED prepaid booking cancelled - cancelled at the HIS, then its payment refunded once") {
    Money m("{}", 1000, R"({"extraction": {"interval": "10s"}})");
    REQUIRE(m.sys.start());
    const auto pair = posted_prepaid(m, "S-DR-201-" + sim::add_days(sim::utc_today(), 3) + "-PM", "pc-book");
    const std::string booking = pair.first, payment = pair.second;
    CHECK(m.state("P1", payment) == "POSTED");
    CHECK(m.sys.his_executions("H001", payment, "pay") == 1);
    CHECK(m.sys.his_executions("H001", booking, "book") == 1);
    // The prepayment alone is not refunded while its booking stands: nothing changes.
    auto alone = m.sys.post("/api/v1/payments/" + payment + "/refund", "", m.as("P1", "pc-refund-alone"));
    INFO(alone.body);
    CHECK(alone.status == 409);
    CHECK(alone.code() == "prepayment.bound");
    CHECK(m.transaction("P1", payment).value("corrections", nlohmann::json::array()).empty());

    auto cancelled = m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "pc-cancel"));
    INFO(cancelled.body);
    REQUIRE(cancelled.status == 201);
    const std::string cancel = nlohmann::json::parse(cancelled.body)["transactionId"];
    REQUIRE(test::eventually([&] { return m.state("P1", cancel) == "POSTED"; }, 60s));
    nlohmann::json paid;
    REQUIRE(test::eventually(
        [&] {
            paid = m.transaction("P1", payment);
            const auto fixes = paid.value("corrections", nlohmann::json::array());
            return fixes.size() == 1 && fixes[0].value("state", "") == "POSTED";
        },
        60s));
    INFO(paid.dump(1));
    CHECK(paid["corrections"][0]["kind"] == "refund");
    CHECK(paid["state"] == "POSTED");  // corrected, never changed
    CHECK(m.state("P1", booking) == "POSTED");
    CHECK(m.sys.his_executions("H001", booking, "cancel") == 1);
    check_refunded_once(m, payment, 1500);
    // A second cancel, and the portal's refund of the payment after the cancel, are refused,
    // naming the refund; nothing more is refunded.
    auto again = m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "pc-cancel-2"));
    CHECK(again.status == 409);
    CHECK(again.code() == "ledger.already_corrected");
    auto portal_refund = m.sys.post("/api/v1/payments/" + payment + "/refund", R"({"reason":"patient"})",
                                    m.as("P1", "refund-" + payment));
    CHECK(portal_refund.status == 409);
    CHECK(portal_refund.code() == "ledger.already_corrected");
    CHECK(m.provider_order(payment)["amount"]["refund"] == 1500);
}

namespace {

// Sets his-sim's record of payment `order`'s amount: a record that no longer matches the
// payment makes his-sim refuse its refund (refund.bad_amount); set back, it refunds.
void set_his_payment_cents(Money& m, const std::string& order, int64_t cents) {
    auto db = sql::Db::open(m.sys.dir() + "/data/his-sim-H001.db");
    REQUIRE(db);
    auto st = db->prepare("UPDATE payments SET amount_cents = ?1 WHERE order_id = ?2");
    REQUIRE(st);
    st->bind(1, cents).bind(2, order);
    REQUIRE(st->run());
    REQUIRE(sqlite3_changes(db->handle()) == 1);
}

}  // namespace

// Two POSTED prepaid bookings cancelled on one system (their waits overlap):
//  - pay-sim refuses the first's refund (refund_fail, until cleared): the refund correction
//    stays CONFIRMED (the HIS refunded), is asked again later each time (retry 1 s doubling
//    to 2 s), is listed for the operators after max_probes (2) asks, and is refunded exactly
//    once when pay-sim takes refunds again;
//  - the hospital refuses the second's refund in every round (his-sim's record of the
//    payment altered): the last round ends VOIDED in the operators' list
//    (state=voided&manual=true, the API and `hisgate ledger list`); the payment refunded
//    again once the hospital does it, the round leaves the list in that refund's commit.
TEST_CASE("money api: a prepaid refund pay-sim keeps refusing is asked again, listed for operators, refunded once - one the hospital refuses every round is listed VOIDED until refunded") {
    Money m("{}", 2, R"({"extraction": {"interval": "10s"}})");
    REQUIRE(m.sys.start());
    const auto pair = posted_prepaid(m, "S-DR-201-" + sim::add_days(sim::utc_today(), 4) + "-AM", "rf-book");
    const std::string booking = pair.first, payment = pair.second;
    const auto refused_pair = posted_prepaid(m, "S-DR-201-" + sim::add_days(sim::utc_today(), 3) + "-AM", "vm-book");
    const std::string refused_booking = refused_pair.first, refused_payment = refused_pair.second;
    REQUIRE(m.pay.arm({{"kind", "refund_fail"}, {"count", 1000}, {"out_trade_no", payment}}) == 200);
    set_his_payment_cents(m, refused_payment, 1499);

    REQUIRE(m.sys.post("/api/v1/bookings/" + booking + "/cancel", "", m.as("P1", "rf-cancel")).status == 201);
    REQUIRE(m.sys.post("/api/v1/bookings/" + refused_booking + "/cancel", "", m.as("P1", "vm-cancel")).status == 201);
    const std::string refund = ledger::prepaid_refund_id(booking);
    std::string last_list;
    // Whether the operators' list of `state` (state=...&manual=true) names `id`.
    auto listed_as = [&](const char* state, const std::string& id) {
        auto r = m.sys.get(std::string("/api/v1/ledger/transactions?state=") + state + "&manual=true");
        last_list = r.body;
        if (r.status != 200) return false;
        const auto doc = nlohmann::json::parse(r.body);
        for (const auto& t : doc["transactions"])
            if (t.value("transactionId", "") == id) return true;
        return false;
    };
    auto listed_for_operators = [&] { return listed_as("confirmed", refund); };
    const bool listed = test::eventually(listed_for_operators, 60s);
    INFO(last_list);
    REQUIRE(listed);
    auto waiting = m.transaction("P1", refund);
    INFO(waiting.dump(1));
    CHECK(waiting["state"] == "CONFIRMED");  // the HIS refunded; the money is still to go back
    CHECK(m.sys.his_executions("H001", payment, "refund") == 1);
    CHECK(m.provider_order(payment)["trade_state"] == "SUCCESS");  // pay-sim refunded nothing yet
    int asks = 0;
    for (const auto& e : waiting["history"])
        if (e.value("event", "") == "refund_ask") ++asks;
    CHECK(asks >= 3);  // asked again after each refusal, the operators told after the second
    // The operator's list says to look at the provider, not to resolve: it is still asked.
    const std::string token_file = m.sys.dir() + "/refund-operator.token";
    test::write_file(token_file, m.sys.token("operator", "ops-li"));
    auto list_cli = [&](const char* state) {
        return test::run_capture({test::binary("cli/hisgate"), "ledger", "list", "--state", state, "--manual", "true", "--url",
                                  "http://127.0.0.1:" + std::to_string(m.sys.api_port()), "--token-file", token_file});
    };
    auto printed = list_cli("confirmed");
    INFO(printed.output);
    CHECK(printed.status == 0);
    CHECK(printed.output.find(refund) != std::string::npos);
    CHECK(printed.output.find("at the provider") != std::string::npos);
    CHECK(printed.output.find("hisgate ledger resolve") == std::string::npos);

    REQUIRE(test::http_send(m.pay.control_port, "DELETE", "/faults", "").status < 300);
    REQUIRE(test::eventually([&] { return m.state("P1", refund) == "POSTED"; }, 30s));
    check_refunded_once(m, payment, 1500);
    CHECK_FALSE(listed_for_operators());

    // The second pair: every round refused by the hospital, the last one VOIDED and listed.
    const std::string round3 = ledger::prepaid_refund_id(refused_booking, 3);
    auto listed_voided = [&] { return listed_as("voided", round3); };
    const bool voided_listed = test::eventually(listed_voided, 60s);
    INFO(last_list);
    REQUIRE(voided_listed);
    CHECK(nlohmann::json::parse(last_list)["transactions"].size() == 1);  // the last round only
    for (int round = 1; round <= 2; ++round) {
        auto earlier = m.transaction("P1", ledger::prepaid_refund_id(refused_booking, round));
        CHECK(earlier["state"] == "VOIDED");
        CHECK_FALSE(earlier.value("manual", false));
    }
    CHECK(m.sys.his_executions("H001", refused_payment, "refund") == 0);
    CHECK(m.provider_order(refused_payment)["trade_state"] == "SUCCESS");
    auto voided_printed = list_cli("voided");
    INFO(voided_printed.output);
    CHECK(voided_printed.status == 0);
    CHECK(voided_printed.output.find(round3) != std::string::npos);
    CHECK(voided_printed.output.find("refund the payment again") != std::string::npos);
    // The hospital's record mended, the payment is refunded again (the patient's route): once
    // at the HIS, once at pay-sim, and round 3 leaves the list.
    set_his_payment_cents(m, refused_payment, 1500);
    auto again = m.sys.post("/api/v1/payments/" + refused_payment + "/refund", "", m.as("P1", "vm-refund"));
    INFO(again.body);
    REQUIRE(again.status == 201);
    const std::string fix = nlohmann::json::parse(again.body)["transactionId"];
    REQUIRE(test::eventually([&] { return m.state("P1", fix) == "POSTED"; }, 60s));
    CHECK_FALSE(listed_voided());
    auto unlisted = m.transaction("P1", round3);
    INFO(unlisted.dump(1));
    CHECK(unlisted["state"] == "VOIDED");
    CHECK_FALSE(unlisted.value("manual", false));
    bool unmarked = false;
    for (const auto& e : unlisted["history"]) unmarked = unmarked || e.value("event", "") == "unmarked";
    CHECK(unmarked);
    check_refunded_once(m, refused_payment, 1500);
    auto after = list_cli("voided");
    INFO(after.output);
    CHECK(after.status == 0);
    CHECK(after.output.find(round3) == std::string::npos);
}
