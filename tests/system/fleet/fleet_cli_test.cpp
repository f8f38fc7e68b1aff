// `hisgate fleet` through the real binary against a running system: the table, --json,
// filters, every cursor page, and the URL and token from the CLI config file. And
// `hisgate tasks`: one request as the control plane keeps it.
#include "fleet_support.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
test::Captured hisgate_cli(const std::string& command, const std::vector<std::string>& args, const std::string& env = "") {
    std::vector<std::string> argv = {"/usr/bin/env"};
    if (!env.empty()) argv.push_back(env);
    argv.push_back(test::binary("cli/hisgate"));
    argv.push_back(command);
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_capture(std::move(argv));
}
}  // namespace

TEST_CASE("cli: hisgate fleet prints the fleet as a table and as JSON, across pages") {
    test::System sys({.hospitals = {"H001", "H002", "H003"},
                      .more_params = {{"H002", R"({"hospital": {"id": "H002", "region": "north", "name": "North Clinic"}})"}}});
    REQUIRE(sys.start());
    REQUIRE(sys.agent("H003").stop() == 0);
    REQUIRE(test::eventually([&] { return test::fleet_hospital(sys, "H003")["state"] == "offline"; }));
    const std::string token_file = sys.dir() + "/operator.token";
    test::write_file(token_file, sys.token("viewer", "ops") + "\n");
    const std::string url = "http://127.0.0.1:" + std::to_string(sys.api_port());

    auto table = hisgate_cli("fleet", {"--url", url, "--token-file", token_file, "--page-size", "1"});
    INFO(table.output);
    REQUIRE(table.status == 0);
    CHECK(table.output.find("HOSPITAL") != std::string::npos);
    CHECK(table.output.find("HEARTBEAT") != std::string::npos);
    CHECK(table.output.find("North Clinic") != std::string::npos);
    CHECK(table.output.find("H001") != std::string::npos);
    CHECK(table.output.find("H003") != std::string::npos);
    CHECK(table.output.find("offline") != std::string::npos);
    CHECK(table.output.find("hl7v2-mllp") != std::string::npos);
    CHECK(table.output.find("3 hospitals: 2 online, 1 offline") != std::string::npos);

    auto json = hisgate_cli("fleet", {"--json", "--url", url, "--token-file", token_file, "--page-size", "2"});
    REQUIRE(json.status == 0);
    auto doc = nlohmann::json::parse(json.output);
    REQUIRE(doc["hospitals"].size() == 3);
    CHECK(doc["hospitals"][2]["hospitalId"] == "H003");
    CHECK(doc["hospitals"][2]["state"] == "offline");

    // The URL and token from the config file; filters.
    const std::string config = sys.dir() + "/cli.json";
    test::write_file(config, nlohmann::json({{"url", url}, {"token_file", token_file}}).dump());
    auto north = hisgate_cli("fleet", {"--json", "--region", "north"}, "HISGATE_CLI_CONFIG=" + config);
    REQUIRE(north.status == 0);
    auto north_doc = nlohmann::json::parse(north.output);
    REQUIRE(north_doc["hospitals"].size() == 1);
    CHECK(north_doc["hospitals"][0]["hospitalId"] == "H002");
    auto offline = hisgate_cli("fleet", {"--state", "offline"}, "HISGATE_CLI_CONFIG=" + config);
    REQUIRE(offline.status == 0);
    CHECK(offline.output.find("1 hospital: 1 offline") != std::string::npos);

    // Errors: the API's own, a bad config file, no URL at all.
    auto bad_state = hisgate_cli("fleet", {"--state", "asleep"}, "HISGATE_CLI_CONFIG=" + config);
    CHECK(bad_state.status == 1);
    CHECK(bad_state.output.find("fleet.bad_query") != std::string::npos);
    test::write_file(sys.dir() + "/bad-cli.json", R"({"url": ")" + url + R"(", "tokn_file": "x"})");
    auto misspelt = hisgate_cli("fleet", {}, "HISGATE_CLI_CONFIG=" + sys.dir() + "/bad-cli.json");
    CHECK(misspelt.status == 2);
    CHECK(misspelt.output.find("tokn_file") != std::string::npos);
    auto nowhere = hisgate_cli("fleet", {}, "HISGATE_CLI_CONFIG=" + sys.dir() + "/none.json");
    CHECK(nowhere.status == 2);
    CHECK(nowhere.output.find("--url") != std::string::npos);
    auto patient_file = sys.dir() + "/patient.token";
    test::write_file(patient_file, sys.token("patient", "P1"));
    auto patient = hisgate_cli("fleet", {"--url", url, "--token-file", patient_file});
    CHECK(patient.status == 1);
    CHECK(patient.output.find("auth.forbidden") != std::string::npos);

    // One request through `hisgate tasks`: a report read, by its Task-Id.
    auto read = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    REQUIRE(read.status == 200);
    const std::string task = read.headers["Task-Id"];
    REQUIRE_FALSE(task.empty());
    auto shown = hisgate_cli("tasks", {task}, "HISGATE_CLI_CONFIG=" + config);
    INFO(shown.output);
    CHECK(shown.status == 0);
    CHECK(shown.output.find("status    answered") != std::string::npos);
    CHECK(shown.output.find("hospital  H001") != std::string::npos);
    CHECK(shown.output.find("type      report.get") != std::string::npos);
    CHECK(shown.output.find("(--json shows it)") != std::string::npos);
    CHECK(shown.output.find("P-DEMO-1") == std::string::npos);  // the report's contents only with --json
    auto as_json = hisgate_cli("tasks", {task, "--json"}, "HISGATE_CLI_CONFIG=" + config);
    CHECK(as_json.status == 0);
    CHECK(nlohmann::json::parse(as_json.output)["taskId"] == task);
    auto unknown = hisgate_cli("tasks", {std::string(32, 'a')}, "HISGATE_CLI_CONFIG=" + config);
    CHECK(unknown.status == 1);
    CHECK(unknown.output.find("task.unknown") != std::string::npos);
    auto which = hisgate_cli("tasks", {}, "HISGATE_CLI_CONFIG=" + config);
    CHECK(which.status == 2);
    CHECK(which.output.find("which task?") != std::string::npos);
}
