// Every program: --help works, and an invalid config exits 2 naming the field and what
// was expected, before anything starts.
#include <catch2/catch.hpp>

#include "common/version.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
struct Run {
    int status;
    std::string output;
};

Run run(const std::string& program, const std::vector<std::string>& args) {
    std::string dir = test::make_temp_dir("cfgrun");
    std::vector<std::string> argv = {test::binary(program)};
    argv.insert(argv.end(), args.begin(), args.end());
    test::Process p(argv, dir + "/out.txt");
    REQUIRE(p.start());
    int status = p.wait_exit(20s);
    if (status < 0) status = p.stop();
    return {status, p.output()};
}

std::string config_file(const std::string& text) {
    std::string path = test::make_temp_dir("cfg") + "/c.json";
    test::write_file(path, text);
    return path;
}
}  // namespace

TEST_CASE("programs: --help exits 0 and documents the config") {
    for (const char* prog : {"agent/hisgate-agent", "controlplane/hisgate-controlplane", "tools/his-sim/his-sim"}) {
        INFO(prog);
        auto r = run(prog, {"--help"});
        CHECK(r.status == 0);
        CHECK_THAT(r.output, Catch::Contains("--config FILE"));
    }
    auto cli = run("cli/hisgate", {"--help"});
    CHECK(cli.status == 0);
    CHECK_THAT(cli.output, Catch::Contains("trace"));
}

TEST_CASE("programs: --version prints the project's one version, the same in every program") {
    for (auto [prog, name] : {std::pair{"agent/hisgate-agent", "hisgate-agent"},
                              std::pair{"controlplane/hisgate-controlplane", "hisgate-controlplane"},
                              std::pair{"tools/his-sim/his-sim", "his-sim"}, std::pair{"cli/hisgate", "hisgate"}}) {
        INFO(prog);
        auto r = run(prog, {"--version"});
        CHECK(r.status == 0);
        CHECK(r.output == std::string(name) + " " + std::string(version()) + "\n");
    }
    CHECK_THAT(std::string(version()), Catch::Matches(R"(\d+\.\d+\.\d+)"));
}

TEST_CASE("programs: bad arguments and invalid configs exit 2 with the field named") {
    struct Case {
        const char* program;
        std::string config;
        std::vector<std::string> says;
    };
    std::string good_params = config_file(R"({"hospital": {"id": "H1", "region": "south"},
                                             "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"}})");
    std::string broken_params = config_file(R"({"hospital": {"id": "H/1", "region": "west"},
                                               "his": {"dialect": "carrier-pigeon", "endpoint": 5, "portt": 2}})");
    std::string rest_params = config_file(R"({"hospital": {"id": "H1", "region": "south"},
                                             "his": {"dialect": "rest-json", "endpoint": "http://127.0.0.1:8080",
                                                     "rest": {"token_file": "/nonexistent/token"}}})");
    std::string moved_params = config_file(R"({"hospital": {"id": "H1", "region": "south"},
                                              "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575",
                                                      "hl7": {"fields": {"patient.shoe": "PID-3"}}}})");
    auto agent_with = [](const std::string& params, const std::string& uri = "tcp://127.0.0.1:1") {
        return "{\"params_file\": \"" + params + "\", \"state_db\": \"/tmp/unused.db\", \"broker\": {\"uri\": \"" + uri + "\"}}";
    };
    Case cases[] = {
        {"agent/hisgate-agent", agent_with(broken_params),
         {"hospital.id", "hospital.region", "his.dialect", "his.endpoint", "his.portt"}},
        {"agent/hisgate-agent", "{\"brokr\": {}}",
         {"params_file: expected a value", "state_db: expected a value", "broker.uri: expected a value", "brokr: unknown key"}},
        {"agent/hisgate-agent", agent_with(good_params, "http://x"),
         {"broker.uri: expected a URI starting with tcp:// or ssl://"}},
        {"agent/hisgate-agent", agent_with(rest_params), {"his.rest.token_file"}},
        {"agent/hisgate-agent", agent_with(moved_params), {"his.hl7.fields.patient.shoe: expected one of the logical fields"}},
        {"agent/hisgate-agent", agent_with(config_file("{ \"hospital\": ")), {"line 1, column 15: expected valid JSON"}},
        {"controlplane/hisgate-controlplane", "{\"broker\": {\"uri\": \"ssl://127.0.0.1:1\"}, \"http\": {\"port\": 70000}, \"log\": {\"level\": \"loud\"}}",
         {"http.port: expected an integer from 0 to 65535, found 70000", "broker.ca_file: expected a CA file",
          "log.level: expected one of debug, info, warn, error, found \"loud\""}},
        {"controlplane/hisgate-controlplane", "{ \"broker\": ", {"invalid JSON", "line 1"}},
        {"controlplane/hisgate-controlplane",
         "{\"request_timeouts_ms\": {\"appointment.book\": 50, \"report.get\": \"fast\", \"\": 1000}, "
         "\"events\": {\"repeat_window_ms\": 5}}",
         {"request_timeouts_ms.appointment.book: expected an integer from 100 to 600000, found 50",
          "request_timeouts_ms.report.get: expected an integer from 100 to 600000, found \"fast\"",
          "request_timeouts_ms: expected request type names of 1 to 64 characters",
          "events.repeat_window_ms: expected an integer from 60000 to 2592000000, found 5"}},
        {"controlplane/hisgate-controlplane", "{\"request_timeouts_ms\": [8000]}",
         {"request_timeouts_ms: expected an object of request type -> milliseconds"}},
        {"tools/his-sim/his-sim", "{\"params_file\": \"" + good_params + "\", \"faults\": {\"silent\": \"yes\"}}",
         {"db: expected a value", "silent: expected true or false, found string \"yes\""}},
        {"tools/his-sim/his-sim", "{\"params_file\": \"" + broken_params + "\", \"db\": \"/tmp/x.db\"}", {"his.endpoint", "his.portt"}},
    };
    for (const auto& c : cases) {
        INFO(c.program << " " << c.config);
        auto r = run(c.program, {"--config", config_file(c.config)});
        CHECK(r.status == 2);
        for (const auto& s : c.says) CHECK_THAT(r.output, Catch::Contains(s));
    }
    // The agent's state file must be creatable: nothing is accepted that could not be kept.
    std::string unwritable = "{\"params_file\": \"" + good_params +
                             "\", \"state_db\": \"/nonexistent-dir/agent.db\", \"broker\": {\"uri\": \"tcp://127.0.0.1:1\"}}";
    auto no_state = run("agent/hisgate-agent", {"--config", config_file(unwritable)});
    CHECK(no_state.status == 2);
    CHECK_THAT(no_state.output, Catch::Contains("task queue /nonexistent-dir/agent.db"));
    std::string bad_queue = config_file(R"({"hospital": {"id": "H1", "region": "south"},
                                           "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"},
                                           "queue": {"max_attempts": 0, "retry_backoff_min": "soon"}})");
    auto bad = run("agent/hisgate-agent", {"--config", config_file(agent_with(bad_queue))});
    CHECK(bad.status == 2);
    CHECK_THAT(bad.output, Catch::Contains("queue.max_attempts"));
    CHECK_THAT(bad.output, Catch::Contains("queue.retry_backoff_min"));
    auto missing = run("agent/hisgate-agent", {"--config", "/nonexistent/agent.json"});
    CHECK(missing.status == 2);
    CHECK_THAT(missing.output, Catch::Contains("cannot open"));
    auto no_config = run("agent/hisgate-agent", {});
    CHECK(no_config.status == 2);
    auto stray = run("tools/his-sim/his-sim", {"--verbose"});
    CHECK(stray.status == 2);
    CHECK_THAT(stray.output, Catch::Contains("unexpected argument '--verbose'"));
}
