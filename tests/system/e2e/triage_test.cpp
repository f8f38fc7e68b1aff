// Triage to owners end to end (docs/triage.md): errors the control plane sees (an agent's
// answer, its own routing failure, an agent's failed probe event) land in the error book
// with their owners; GET /api/v1/triage and `hisgate triage` list them by owner. Real
// Mosquitto, his-sim, agents, control plane and the hisgate binary.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
test::Captured hisgate_cli(std::vector<std::string> args) {
    args.insert(args.begin(), test::binary("cli/hisgate"));
    return test::run_capture(std::move(args));
}

MqttOptions as_user(test::Broker& b, const std::string& user) {
    MqttOptions o;
    o.uri = b.uri();
    o.client_id = "probe-" + user;
    o.username = user;
    o.password = b.password(user);
    o.ca_file = b.ca_file();
    return o;
}

nlohmann::json listing(test::System& sys, const std::string& query = "") {
    auto r = sys.get("/api/v1/triage" + query);
    REQUIRE(r.status == 200);
    return nlohmann::json::parse(r.body);
}

// The codes the listing holds for `owner`.
std::vector<std::string> codes_of(const nlohmann::json& body, const std::string& owner) {
    std::vector<std::string> out;
    for (const auto& o : body["owners"])
        if (o["owner"] == owner)
            for (const auto& e : o["errors"]) out.push_back(e["code"].get<std::string>() + "@" + e["hospitalId"].get<std::string>());
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST_CASE("e2e: triage books answers, routing failures and failed probes by owner, and hisgate triage lists them") {
    // H003: a hospital's credentials with no agent running, to send events as an agent would.
    test::System sys({.hospitals = {"H001", "H002"},
                      .sim_faults = {{"H001", R"({"reject": "REFUSED"})"}},
                      .broker_users = {"H003"}});
    REQUIRE(sys.start());

    // An agent's answer carrying the HIS's refusal (a vendor code no parameter maps).
    auto refused = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    CHECK((refused.status == 422 || refused.status == 202));
    // The control plane's own failure: the hospital's agent is gone.
    sys.agent("H002").stop();
    REQUIRE(test::eventually([&] { return sys.online_hospitals() == std::vector<std::string>{"H001"}; }, 20s));
    // (A booking: real-time work fails at once; a report would wait for the agent's return.)
    auto offline = sys.post("/api/v1/hospitals/H002/appointments",
                            R"({"orderId": "O-T-1", "slotId": "S1", "patient": {"id": "P-DEMO-1"}})");
    CHECK(offline.code() == "hospital.offline");
    // A failed probe, and an event of a type nobody knows, as an agent publishes them.
    MqttLink h3(as_user(sys.broker(), "H003"));
    h3.start();
    REQUIRE(h3.wait_connected(10s));
    nlohmann::json probe = {{"path", "lab_report"}, {"outcome", "failed"},
                            {"error", {{"class", "unavailable"}, {"code", "mllp.connect_failed"}, {"message", "x"}}}};
    REQUIRE(h3.publish(OutgoingMessage::to(topics::event("H003"), Envelope::make("probe.result", "H003", probe).to_json())).ok());
    REQUIRE(h3.publish(OutgoingMessage::to(topics::event("H003"), Envelope::make("solar.flare", "H003", nlohmann::json::object()).to_json())).ok());
    REQUIRE(h3.publish(OutgoingMessage::to(topics::event("H003"), "]]not json[[")).ok());

    REQUIRE(test::eventually([&] {
        auto body = listing(sys);
        return has(codes_of(body, "his-vendor"), "his.REFUSED@H001") && has(codes_of(body, "hospital-it"), "hospital.offline@H002") &&
               has(codes_of(body, "hospital-it"), "mllp.connect_failed@H003");
    }, 30s));
    std::string page;
    bool counted = test::eventually([&] {
        page = sys.get("/metrics").body;
        page = page.substr(std::min(page.size(), page.find("hisgate_controlplane_events_total")), 600);
        return test::metric_value(page, "hisgate_controlplane_events_total{type=\"unknown\"}") == 1 &&
               test::metric_value(page, "hisgate_controlplane_events_total{type=\"unreadable\"}") == 1;
    });
    INFO(page);
    REQUIRE(counted);
    CHECK(sys.controlplane().running());
    auto body = listing(sys);
    for (const auto& o : body["owners"])
        for (const auto& e : o["errors"])
            if (e["code"] == "his.REFUSED") {
                CHECK(e["path"] == "report.get");
                CHECK(e["dialect"] == "hl7v2-mllp");
                CHECK(e["sampleTraceId"].get<std::string>().size() == 32);
                CHECK(e["count"].get<int>() >= 1);
            }
    // No message text reaches the book: only codes and ids.
    CHECK(sys.get("/api/v1/triage").body.find("message") == std::string::npos);

    // Filters and their checks.
    CHECK(codes_of(listing(sys, "?owner=his-vendor"), "hospital-it").empty());
    CHECK(listing(sys, "?since=1h")["groups"].get<int>() >= 3);
    auto bad_owner = sys.get("/api/v1/triage?owner=nobody");
    CHECK(bad_owner.status == 400);
    CHECK(bad_owner.code() == "triage.bad_query");
    CHECK(sys.get("/api/v1/triage?since=last-tuesday").status == 400);
    CHECK(sys.get("/api/v1/triage?colour=red").status == 400);
    // Staff only.
    CHECK(sys.get("/api/v1/triage", sys.bearer("patient", "P1")).status == 403);
    CHECK(sys.get("/api/v1/triage", sys.bearer("viewer", "v1")).status == 200);
    CHECK(sys.get("/api/v1/triage", {{"Authorization", "Bearer nope"}}).status == 401);

    // The CLI, with the URL and a token file.
    std::string token_file = sys.dir() + "/operator.token";
    test::write_file(token_file, sys.token("operator", "op1") + "\n");
    std::string url = "http://127.0.0.1:" + std::to_string(sys.api_port());
    auto table = hisgate_cli({"triage", "--url", url, "--token-file", token_file});
    INFO(table.output);
    CHECK(table.status == 0);
    CHECK_THAT(table.output, Catch::Contains("his-vendor: 1 open error groups"));
    CHECK_THAT(table.output, Catch::Contains("hospital-it:"));
    CHECK_THAT(table.output, Catch::Contains("his.REFUSED"));
    CHECK_THAT(table.output, Catch::Contains("hospital.offline"));
    CHECK_THAT(table.output, Catch::Contains("mllp.connect_failed"));
    auto only = hisgate_cli({"triage", "--owner", "his-vendor", "--since", "2h", "--url", url, "--token-file", token_file});
    CHECK(only.status == 0);
    CHECK_THAT(only.output, Catch::Contains("his.REFUSED"));
    CHECK(only.output.find("hospital.offline") == std::string::npos);
    auto json = hisgate_cli({"triage", "--json", "--url", url, "--token-file", token_file});
    CHECK(json.status == 0);
    auto doc = nlohmann::json::parse(json.output, nullptr, false);
    REQUIRE(doc.is_object());
    CHECK(doc["groups"].get<int>() >= 3);
    // Refusals are the API's words, exit 1.
    auto bad = hisgate_cli({"triage", "--since", "whenever", "--url", url, "--token-file", token_file});
    CHECK(bad.status == 1);
    CHECK_THAT(bad.output, Catch::Contains("triage.bad_query"));
    CHECK_THAT(bad.output, Catch::Contains("since"));
    // A token that is no longer valid: the API's 401, exit 1.
    std::string stale = sys.dir() + "/stale.token";
    test::write_file(stale, "not-a-token\n");
    auto refused_token = hisgate_cli({"triage", "--url", url, "--token-file", stale});
    CHECK(refused_token.status == 1);
    CHECK_THAT(refused_token.output, Catch::Contains("auth.invalid_token"));
    // The URL and token from the CLI config file instead of flags.
    std::string config = sys.dir() + "/cli.json";
    test::write_file(config, nlohmann::json{{"url", url}, {"token_file", token_file}}.dump());
    setenv("HISGATE_CLI_CONFIG", config.c_str(), 1);
    auto from_config = hisgate_cli({"triage", "--owner", "hospital-it"});
    CHECK(from_config.status == 0);
    CHECK_THAT(from_config.output, Catch::Contains("hospital.offline"));
    test::write_file(sys.dir() + "/bad.json", R"({"ulr": "x"})");
    setenv("HISGATE_CLI_CONFIG", (sys.dir() + "/bad.json").c_str(), 1);
    auto typo = hisgate_cli({"triage"});
    unsetenv("HISGATE_CLI_CONFIG");
    CHECK(typo.status == 2);
    CHECK_THAT(typo.output, Catch::Contains("ulr: unknown key"));
    auto stray = hisgate_cli({"triage", "--frobnicate"});
    CHECK(stray.status == 2);
}

TEST_CASE("e2e: a control plane given a triage rules file with an unknown field refuses to start, saying where") {
    test::System sys({.hospitals = {"H001"}});
    std::string rules = sys.dir() + "/triage-rules.json";
    test::write_file(rules, R"({"teams": {"ops": "x"}, "default_owner": "ops", "rules": [
        {"name": "a", "owner": "ops", "when": {"code": "x"}, "colour": "red"}]})");
    std::string config = sys.dir() + "/cp.json";
    test::write_file(config, nlohmann::json{{"http", {{"port", 0}}},
                                            {"broker", {{"uri", "tcp://127.0.0.1:1"}}},
                                            {"auth", {{"keys_dir", sys.dir() + "/no-keys"}}},
                                            {"triage", {{"rules_file", rules}}}}
                                 .dump());
    test::Process cp({test::binary("controlplane/hisgate-controlplane"), "--config", config}, sys.dir() + "/cp-bad-rules.out");
    REQUIRE(cp.start());
    int status = cp.wait_exit(20s);
    INFO(cp.output());
    CHECK(status == 2);
    CHECK_THAT(cp.output(), Catch::Contains("rules[0].colour: unknown field"));
}
