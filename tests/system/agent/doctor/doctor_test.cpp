// `hisgate-agent doctor` as hospital IT runs it: the real binary against a real Mosquitto
// (TLS, passwords, ACL) and a real his-sim, each fault made for real.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

struct DoctorRun {
    int status = -1;
    std::string out, err;
    nlohmann::json json;  // when run with --json

    // The row named `check`, or null.
    nlohmann::json row(const std::string& check) const {
        for (const auto& r : json["checks"])
            if (r["check"] == check) return r;
        return nullptr;
    }
    std::string status_of(const std::string& check) const {
        auto r = row(check);
        return r.is_null() ? "absent" : r["status"].get<std::string>();
    }
};

// One hospital; `his` is merged into its "his" parameters. his-sim writes MSH-7 in UTC,
// so the parameter file says so (his.timezone) for the clock row to compare like with
// like. The answer timeout is generous so that a busy test machine never makes a path
// "slow" (more than half of it).
test::SystemOptions hospital(const std::string& his = "{}") {
    auto params = nlohmann::json{{"timezone", "UTC"}, {"answer_timeout", "20s"}};
    params.update(nlohmann::json::parse(his));
    return {.hospitals = {"H001"}, .his_params = {{"H001", params.dump()}}};
}

std::string agent_config(test::System& sys) { return sys.dir() + "/etc/agent-H001.json"; }

// What a careful installer does: secrets readable by the agent's user only.
void lock_secrets(test::System& sys) {
    ::chmod(sys.params_file("H001").c_str(), 0600);
    ::chmod(sys.broker().password_file("H001").c_str(), 0600);
}

DoctorRun doctor(const std::vector<std::string>& args) {
    std::string dir = test::make_temp_dir("hisgate-doctor-run");
    std::string cmd = "exec '" + test::binary("agent/hisgate-agent") + "' doctor";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " 2>'" + dir + "/stderr'";
    test::Process p({"/bin/sh", "-c", cmd}, dir + "/stdout");
    DoctorRun run;
    REQUIRE(p.start());
    run.status = p.wait_exit(120s);
    run.out = test::read_file(dir + "/stdout");
    run.err = test::read_file(dir + "/stderr");
    std::system(("rm -rf '" + dir + "'").c_str());
    if (std::find(args.begin(), args.end(), "--json") != args.end()) {
        run.json = nlohmann::json::parse(run.out, nullptr, false);
        INFO(run.out << run.err);
        REQUIRE(!run.json.is_discarded());
    }
    return run;
}

DoctorRun doctor_json(test::System& sys) { return doctor({"--config", agent_config(sys), "--json"}); }

void edit_agent_config(test::System& sys, const std::function<void(nlohmann::json&)>& change) {
    auto doc = nlohmann::json::parse(test::read_file(agent_config(sys)));
    change(doc);
    test::write_file(agent_config(sys), doc.dump(2));
}

const std::vector<std::string> kEveryRow = {
    "params_file",        "permissions.params_file", "permissions.broker.password_file", "permissions.state_db",
    "disk.state_db",      "broker.reachable",        "broker.tls",                       "broker.credentials",
    "his.reference_data", "his.report",              "his.payment_status",               "his.statement",
    "clock.his"};

}  // namespace

TEST_CASE("doctor: a healthy installation passes every check and exits 0") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    CHECK(run.json["ok"] == true);
    CHECK(run.json["checks"].size() == kEveryRow.size());
    for (const auto& check : kEveryRow) {
        INFO(check);
        CHECK(run.status_of(check) == "OK");
    }
    CHECK_THAT(run.row("broker.credentials")["detail"].get<std::string>(), Catch::Contains("logged in as \"H001\""));
    CHECK_THAT(run.row("clock.his")["detail"].get<std::string>(), Catch::Contains("MSH-7"));
    // The HIS answered each path, and the time it took is shown.
    CHECK(run.row("his.payment_status")["millis"].is_number());

    // A report hospital IT knows is read for real; one the HIS does not have fails.
    auto known = doctor({"--config", agent_config(sys), "--json", "--report-id", "R-DEMO-1"});
    CHECK(known.status_of("his.report") == "OK");
    CHECK_THAT(known.row("his.report")["detail"].get<std::string>(), Catch::Contains("R-DEMO-1 read: 3 observations"));
    auto unknown = doctor({"--config", agent_config(sys), "--json", "--report-id", "R-NOBODY-9"});
    CHECK(unknown.status == 1);
    CHECK(unknown.status_of("his.report") == "FAIL");
    CHECK_THAT(unknown.row("his.report")["fix"].get<std::string>(), Catch::Contains("--report-id"));

    // The same, as the table a person reads.
    auto table = doctor({"--config", agent_config(sys)});
    CHECK(table.status == 0);
    CHECK_THAT(table.out, Catch::Contains("check") && Catch::Contains("status") && Catch::Contains("what to fix"));
    CHECK_THAT(table.out, Catch::Contains("13 checks: 0 failed, 0 warnings"));
}

TEST_CASE("doctor: a REST HIS answers every path and its clock is read from the HTTP Date header") {
    std::string rest = test::read_file(std::string(HISGATE_SOURCE_DIR) + "/tools/his-sim/dialects/vendor-c-rest.json");
    test::System sys(hospital(rest));
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    for (const char* check : {"his.reference_data", "his.report", "his.payment_status", "his.statement", "clock.his"}) {
        INFO(check);
        CHECK(run.status_of(check) == "OK");
    }
    CHECK_THAT(run.row("clock.his")["detail"].get<std::string>(), Catch::Contains("HTTP Date"));
}

TEST_CASE("doctor: a wrong broker password fails the credentials row, not the TLS row") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    test::write_file(sys.broker().password_file("H001"), "not-the-password\n");
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    CHECK(run.status_of("broker.reachable") == "OK");
    CHECK(run.status_of("broker.tls") == "OK");
    REQUIRE(run.status_of("broker.credentials") == "FAIL");
    // Mosquitto answers an MQTT 5 login with a wrong password "not authorized" (0x87);
    // other brokers say "bad user name or password" (0x86): both are the login's fault.
    CHECK_THAT(run.row("broker.credentials")["detail"].get<std::string>(),
               Catch::Contains("refused the login of \"H001\"") &&
                   (Catch::Contains("CONNACK reason 0x86") || Catch::Contains("CONNACK reason 0x87")));
    CHECK_THAT(run.row("broker.credentials")["fix"].get<std::string>(), Catch::Contains(sys.broker().password_file("H001")));
    // The HIS is not the problem.
    CHECK(run.status_of("his.payment_status") == "OK");
}

TEST_CASE("doctor: a CA that did not sign the broker's certificate fails the TLS row") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);
    std::string other_ca = sys.dir() + "/etc/other-ca.crt";
    REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=some other CA' -keyout " + sys.dir() +
                         "/etc/other-ca.key -out " + other_ca + " >/dev/null 2>&1")
                            .c_str()) == 0);
    edit_agent_config(sys, [&](nlohmann::json& c) { c["broker"]["ca_file"] = other_ca; });

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    CHECK(run.status_of("broker.reachable") == "OK");
    REQUIRE(run.status_of("broker.tls") == "FAIL");
    CHECK_THAT(run.row("broker.tls")["detail"].get<std::string>(), Catch::Contains("not trusted"));
    CHECK_THAT(run.row("broker.tls")["fix"].get<std::string>(), Catch::Contains("broker.ca_file"));
    // Credentials cannot be judged over a link that is not trusted.
    CHECK(run.status_of("broker.credentials") == "absent");
}

TEST_CASE("doctor: a broker that does not listen fails the reachable row") {
    test::System sys(hospital());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    REQUIRE(run.status_of("broker.reachable") == "FAIL");
    CHECK_THAT(run.row("broker.reachable")["detail"].get<std::string>(), Catch::Contains("127.0.0.1:" + std::to_string(sys.broker().port())));
    CHECK(run.status_of("broker.tls") == "absent");
    CHECK(run.status_of("his.report") == "OK");
}

TEST_CASE("doctor: with the HIS down every HIS path fails and says to check his.endpoint") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    for (const char* check : {"his.reference_data", "his.report", "his.payment_status", "his.statement"}) {
        INFO(check);
        REQUIRE(run.status_of(check) == "FAIL");
        CHECK_THAT(run.row(check)["detail"].get<std::string>(), Catch::Contains("mllp.connect_failed"));
        CHECK_THAT(run.row(check)["fix"].get<std::string>(), Catch::Contains("his.endpoint"));
    }
    CHECK(run.status_of("clock.his") == "WARN");
    CHECK(run.status_of("broker.credentials") == "OK");
}

TEST_CASE("doctor: a HIS that reads but never answers fails each path as a timeout, and the doctor does not hang") {
    auto options = hospital(R"({"answer_timeout": "1s"})");
    options.sim_faults = {{"H001", R"({"silent": true})"}};
    test::System sys(options);
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    for (const char* check : {"his.reference_data", "his.report", "his.payment_status", "his.statement"}) {
        INFO(check);
        REQUIRE(run.status_of(check) == "FAIL");
        CHECK_THAT(run.row(check)["detail"].get<std::string>(), Catch::Contains("mllp.ack_timeout"));
        CHECK_THAT(run.row(check)["fix"].get<std::string>(), Catch::Contains("his.answer_timeout"));
    }
    CHECK(run.status_of("clock.his") == "WARN");
}

TEST_CASE("doctor: a broker reached over plain tcp is a warning, not a failure") {
    auto options = hospital();
    options.tls = false;
    test::System sys(options);
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    CHECK(run.status_of("broker.tls") == "WARN");
    CHECK_THAT(run.row("broker.tls")["fix"].get<std::string>(), Catch::Contains("ssl://"));
    CHECK(run.status_of("broker.credentials") == "OK");
}

TEST_CASE("doctor: a parameter file with errors fails with the validator's lines") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    test::write_file(sys.params_file("H001"), R"({"hospital": {"id": "H001", "region": "south"},
        "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575", "answer_timeout": "soon"}})");
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    REQUIRE(run.status_of("params_file") == "FAIL");
    CHECK_THAT(run.row("params_file")["detail"].get<std::string>(), Catch::Contains("his.answer_timeout") && Catch::Contains("soon"));
    CHECK(run.status_of("his.report") == "absent");
    CHECK(run.status_of("his.*, clock.his") == "WARN");
    // The checks that need no parameters still run.
    CHECK(run.status_of("permissions.broker.password_file") == "OK");
    CHECK(run.status_of("disk.state_db") == "OK");
    CHECK(run.status_of("broker.credentials") == "OK");
}

TEST_CASE("doctor: a password file others can read fails with the chmod that fixes it") {
    test::System sys(hospital());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);
    std::string password_file = sys.broker().password_file("H001");
    ::chmod(password_file.c_str(), 0644);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    REQUIRE(run.status_of("permissions.broker.password_file") == "FAIL");
    CHECK_THAT(run.row("permissions.broker.password_file")["detail"].get<std::string>(), Catch::Contains("0644"));
    CHECK(run.row("permissions.broker.password_file")["fix"] == "chmod 600 " + password_file);
    // Nothing else is wrong.
    int failed = 0;
    for (const auto& r : run.json["checks"]) failed += r["status"] == "FAIL";
    CHECK(failed == 1);
}

TEST_CASE("doctor: a HIS clock two hours off fails the clock row and points at his.timezone") {
    // his-sim writes MSH-7 in UTC; a parameter file saying its times are UTC-2 makes
    // them read two hours ahead, exactly as a HIS clock two hours fast would.
    test::System sys(hospital(R"({"timezone": "Etc/GMT+2"})"));
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    lock_secrets(sys);

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status == 1);
    REQUIRE(run.status_of("clock.his") == "FAIL");
    CHECK_THAT(run.row("clock.his")["detail"].get<std::string>(), Catch::Contains("2h00m") && Catch::Contains("ahead"));
    CHECK_THAT(run.row("clock.his")["fix"].get<std::string>(), Catch::Contains("his.timezone"));
    CHECK(run.status_of("his.report") == "OK");
}

TEST_CASE("doctor: a config file that cannot be used exits 2 with the reason") {
    std::string dir = test::make_temp_dir("hisgate-doctor-config");
    auto missing = doctor({"--config", dir + "/nope.json"});
    CHECK(missing.status == 2);
    CHECK_THAT(missing.err, Catch::Contains("nope.json"));

    test::write_file(dir + "/agent.json", R"({"params_file": "p.json", "state_db": "s.db", "broker": {"uri": "tcp://127.0.0.1:1"}, "wrokers": 3})");
    auto misspelt = doctor({"--config", dir + "/agent.json"});
    CHECK(misspelt.status == 2);
    CHECK_THAT(misspelt.err, Catch::Contains("wrokers"));

    auto no_config = doctor({"--report-id", "R-1"});
    CHECK(no_config.status == 2);
    CHECK_THAT(no_config.err, Catch::Contains("--config FILE is required"));
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("doctor: with the agent running it does not log in with the agent's credentials, which would take over its session") {
    test::System sys(hospital());
    REQUIRE(sys.start());
    lock_secrets(sys);
    auto metrics = [&] { return test::http_get(sys.agent_metrics_port("H001"), "/metrics").body; };
    auto reconnects = [&] {
        auto page = metrics();
        auto at = page.find("\nhisgate_mqtt_reconnects_total ");
        return at == std::string::npos ? 0.0 : std::stod(page.substr(at + 31));
    };
    double before = reconnects();

    auto run = doctor_json(sys);
    INFO(run.out << run.err);
    CHECK(run.status_of("broker.credentials") == "OK");
    CHECK_THAT(run.row("broker.credentials")["detail"].get<std::string>(),
               Catch::Contains("running agent is logged in as \"H001\""));
    // The agent kept its connection: no takeover, no reconnect, and it still serves.
    CHECK(reconnects() == before);
    CHECK_THAT(metrics(), Catch::Contains("\nhisgate_mqtt_connected 1"));
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}
