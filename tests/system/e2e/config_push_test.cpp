// Remote configuration and feature flags end to end (issue 16 items 7 and 8;
// docs/config-push.md): real Mosquitto, control plane, agents and his-sims. A set is
// pushed through the API, checked by the agent against its catalog, swapped, proven by the
// doctor's path checks against the real his-sim, and reverted by the agent itself when a
// path stops answering.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json config_push_body(const std::string& target, const json& params, const std::string& mode) {
    return {{"target", target}, {"params", params}, {"mode", mode}};
}

// The only result of a push to one hospital.
json config_push_result(const test::HttpReply& reply) {
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    auto doc = json::parse(reply.body);
    REQUIRE(doc["results"].size() == 1);
    return doc["results"][0];
}

json params_on_disk(test::System& sys, const std::string& h) { return json::parse(test::read_file(sys.params_file(h))); }

}  // namespace

TEST_CASE("config push: applied at once, refused when invalid, reverted by the agent when the HIS path fails, history and rollback") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    const json base = params_on_disk(sys, "H001");

    // Real-time: applied and answered in the same request; the file on disk follows.
    json faster = base;
    faster["his"]["answer_timeout"] = "2s";
    auto t0 = std::chrono::steady_clock::now();
    auto applied = config_push_result(sys.post("/api/v1/config/push", config_push_body("H001", faster, "now").dump()));
    auto push_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    WARN("real-time push answered in " << push_ms << " ms");
    CHECK(applied["status"] == "applied");
    CHECK(applied["version"] == 1);
    CHECK(applied["pushedBy"] == "test-operator");
    CHECK(params_on_disk(sys, "H001")["his"]["answer_timeout"] == "2s");
    // The birth's parameter-set hash follows at the next heartbeat or birth; the store has it now.
    const std::string applied_hash = applied["hash"];

    // A set the catalog refuses: refused with the validator's lines, the agent untouched.
    json invalid = faster;
    invalid["his"]["answer_timeout"] = "soon";
    auto refused = config_push_result(sys.post("/api/v1/config/push", config_push_body("H001", invalid, "now").dump()));
    CHECK(refused["status"] == "refused");
    CHECK_THAT(refused["detail"].dump(), Catch::Contains("his.answer_timeout"));
    CHECK(params_on_disk(sys, "H001") == faster);

    // A set naming a port nobody listens on: swapped, the doctor's path checks fail against
    // it, the agent goes back by itself and keeps serving.
    json wrong_port = faster;
    wrong_port["his"]["endpoint"] = "127.0.0.1:" + std::to_string(test::free_port());
    auto reverted = config_push_result(sys.post("/api/v1/config/push", config_push_body("H001", wrong_port, "now").dump()));
    CHECK(reverted["status"] == "reverted");
    CHECK_THAT(reverted["detail"]["failedChecks"].dump(), Catch::Contains("his."));
    CHECK(params_on_disk(sys, "H001") == faster);
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);

    // History, newest first, with who and the hash.
    auto history = sys.get("/api/v1/hospitals/H001/config");
    INFO(history.body);
    REQUIRE(history.status == 200);
    auto rows = json::parse(history.body)["history"];
    REQUIRE(rows.size() == 3);
    CHECK(rows[0]["status"] == "reverted");
    CHECK(rows[1]["status"] == "refused");
    CHECK(rows[2]["status"] == "applied");
    CHECK(rows[2]["hash"] == applied_hash);
    auto one = sys.get("/api/v1/hospitals/H001/config/1");
    REQUIRE(one.status == 200);
    CHECK(json::parse(one.body)["params"] == faster);

    // Rollback: without --to, the applied set before the one running (here: version 4's
    // predecessor, version 1), pushed again as a new version, at once.
    json slower = faster;
    slower["his"]["answer_timeout"] = "3s";
    CHECK(config_push_result(sys.post("/api/v1/config/push", config_push_body("H001", slower, "now").dump()))["status"] ==
          "applied");
    auto back = config_push_result(sys.post("/api/v1/hospitals/H001/config/rollback", "{}"));
    CHECK(back["status"] == "applied");
    CHECK(back["version"] == 5);
    CHECK(back["rollbackOf"] == 1);
    CHECK(params_on_disk(sys, "H001")["his"]["answer_timeout"] == "2s");
    auto to_base = config_push_result(sys.post("/api/v1/hospitals/H001/config/rollback", R"({"to": 4})"));
    CHECK(to_base["rollbackOf"] == 4);
    CHECK(sys.post("/api/v1/hospitals/H001/config/rollback", R"({"to": 99})").code() == "config.unknown_version");

    // Standard mode: queued for the quiet window (02:00-04:00 hospital time by default), the
    // file untouched; unless the test runs inside the window, where the agent applies it
    // within one presence tick and reports it by a config.applied event.
    const json base2 = params_on_disk(sys, "H002");
    json queued_set = base2;
    queued_set["his"]["answer_timeout"] = "2s";
    auto queued = config_push_result(sys.post("/api/v1/config/push", config_push_body("H002", queued_set, "standard").dump()));
    CHECK(queued["status"] == "queued");
    CHECK(queued["detail"].contains("applyAfter"));

    // A selector push patches each hospital's newest applied set; H002 has none yet.
    auto patched = sys.post("/api/v1/config/push",
                            config_push_body("region=south", {{"his", {{"answer_timeout", "4s"}}}}, "now").dump());
    INFO(patched.body);
    REQUIRE(patched.status == 200);
    std::map<std::string, std::string> by_hospital;
    const auto patched_doc = json::parse(patched.body);
    for (const auto& r : patched_doc["results"]) by_hospital[r["hospitalId"].get<std::string>()] = r["status"].get<std::string>();
    CHECK(by_hospital["H001"] == "applied");
    CHECK(by_hospital["H002"] == "skipped");
    CHECK(params_on_disk(sys, "H001")["his"]["answer_timeout"] == "4s");
    CHECK(params_on_disk(sys, "H001")["his"]["endpoint"] == faster["his"]["endpoint"]);

    // Bad input.
    CHECK(sys.post("/api/v1/config/push", config_push_body("H404", base, "now").dump()).code() == "hospital.unknown");
    CHECK(sys.post("/api/v1/config/push", config_push_body("H001", base, "later").dump()).code() == "config.bad_mode");
    CHECK(sys.post("/api/v1/config/push", config_push_body("region=south;x", base, "now").dump()).code() ==
          "config.bad_target");
    // Over the largest set pushed (56 KiB), within the HTTP body limit (64 KiB; larger is 413).
    json big = base;
    big["padding"] = json::array();
    for (int i = 0; i < 1400; ++i) big["padding"].push_back(std::string(40, 'x'));
    CHECK(sys.post("/api/v1/config/push", config_push_body("H001", big, "now").dump()).code() == "config.too_large");
    CHECK(sys.post("/api/v1/config/push", config_push_body("H001", base, "now").dump(), sys.bearer("viewer", "v")).status == 403);
    CHECK(sys.get("/api/v1/hospitals/H001/config", sys.bearer("patient", "P1")).status == 403);
    CHECK(params_on_disk(sys, "H001")["his"]["answer_timeout"] == "4s");
}

TEST_CASE("flags: set per percentage and version, delivered to the online agents, listed and removed") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    auto set = sys.put("/api/v1/flags/new-ui", R"({"percent": 100, "minVersion": "0.1.0"})");
    INFO(set.body);
    REQUIRE(set.status == 200);
    auto delivered = json::parse(set.body)["delivered"];
    REQUIRE(delivered.size() == 2);
    for (const auto& d : delivered) CHECK(d["enabled"] == json::array({"new-ui"}));

    // A version no agent runs yet: on nowhere.
    auto future = sys.put("/api/v1/flags/next-protocol", R"({"percent": 100, "minVersion": "99.0.0"})");
    REQUIRE(future.status == 200);
    const auto future_doc = json::parse(future.body);
    for (const auto& d : future_doc["delivered"]) CHECK(d["enabled"] == json::array({"new-ui"}));
    // Listed hospitals only.
    auto pilot = sys.put("/api/v1/flags/pilot", R"({"hospitals": ["H002"]})");
    REQUIRE(pilot.status == 200);
    auto listed = sys.get("/api/v1/flags");
    REQUIRE(listed.status == 200);
    auto doc = json::parse(listed.body);
    CHECK(doc["flags"].size() == 3);
    CHECK(doc["enabledOnline"]["H001"] == json::array({"new-ui"}));
    CHECK(doc["enabledOnline"]["H002"] == json::array({"new-ui", "pilot"}));

    // Bad input, and who may.
    CHECK(sys.put("/api/v1/flags/Bad_Name", "{}").code() == "flags.invalid");
    CHECK(sys.put("/api/v1/flags/x", R"({"percent": 101})").code() == "flags.invalid");
    CHECK(sys.put("/api/v1/flags/x", R"({"minVersion": "one"})").code() == "flags.invalid");
    CHECK(sys.put("/api/v1/flags/x", R"({"selector": {"city": "a"}})").code() == "flags.invalid");
    CHECK(sys.put("/api/v1/flags/x", "{}", sys.bearer("viewer", "v")).status == 403);

    auto removed = test::http_send(sys.api_port(), "DELETE", "/api/v1/flags/pilot", "", sys.bearer("operator", "test-operator"));
    INFO(removed.body);
    CHECK(removed.status == 200);
    CHECK(test::http_send(sys.api_port(), "DELETE", "/api/v1/flags/pilot", "", sys.bearer("operator", "test-operator")).code() ==
          "flags.unknown");
    CHECK(json::parse(sys.get("/api/v1/flags").body)["flags"].size() == 2);

    // The same through the operator's CLI: hisgate config push|history|rollback, flags set|list|rm.
    std::string token_file = sys.dir() + "/operator.token";
    test::write_file(token_file, sys.token("operator", "op1") + "\n");
    auto cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), test::binary("cli/hisgate"));
        for (const char* a : {"--url", "", "--token-file", ""}) args.push_back(a);
        args[args.size() - 3] = "http://127.0.0.1:" + std::to_string(sys.api_port());
        args[args.size() - 1] = token_file;
        return test::run_capture(args, 60s);
    };
    json cli_set = json::parse(test::read_file(sys.params_file("H002")));
    cli_set["his"]["answer_timeout"] = "2s";
    std::string file = sys.dir() + "/h002.json";
    test::write_file(file, cli_set.dump());
    auto pushed = cli({"config", "push", "H002", file, "--now"});
    INFO(pushed.output);
    CHECK(pushed.status == 0);
    CHECK_THAT(pushed.output, Catch::Contains("applied"));
    auto history = cli({"config", "history", "H002"});
    CHECK(history.status == 0);
    CHECK_THAT(history.output, Catch::Contains("op1"));
    cli_set["his"]["answer_timeout"] = "soon";
    test::write_file(file, cli_set.dump());
    auto refused = cli({"config", "push", "H002", file, "--now"});
    CHECK(refused.status == 1);
    CHECK_THAT(refused.output, Catch::Contains("refused") && Catch::Contains("his.answer_timeout"));
    CHECK(cli({"config", "rollback", "H002"}).status == 1);  // only one applied set: nothing before it
    CHECK(cli({"config", "push", "H404", file}).status == 1);
    CHECK(cli({"config", "push", "H002"}).status == 2);
    CHECK(cli({"flags", "set", "cli-flag", "--percent", "100", "--select", "region=south"}).status == 0);
    auto listed_cli = cli({"flags", "list"});
    INFO(listed_cli.output);
    CHECK_THAT(listed_cli.output, Catch::Contains("cli-flag"));
    CHECK(cli({"flags", "rm", "cli-flag"}).status == 0);
    CHECK(cli({"flags", "rm", "cli-flag"}).status == 1);
}
