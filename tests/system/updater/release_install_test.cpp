// release.install, the control plane's side of an upgrade: the task over MQTT to a real
// agent, handed to hisgate-updater's spool, installed by `hisgate-updater serve` from the
// control plane's release API (manifest and delta over HTTP with a service token), the new
// version in the agent's birth; and a rollback that loses no task the new version accepted
// during its trial.
#include <catch2/catch.hpp>

#include <filesystem>

#include "agent/release_install.h"
#include "common/clock.h"
#include "common/sqlite.h"
#include "release/repository.h"
#include "tests/support/certificates.h"
#include "tests/support/process.h"
#include "../agent/resilience/control_plane_client.h"
#include "updater_site.h"
#include "transport/envelope.h"

namespace {

namespace fs = std::filesystem;
using hisgate::test::updater_site::ReleaseKit;
using hisgate::test::updater_site::Site;
using namespace std::chrono_literals;

std::string code_of_install_request(const nlohmann::json& body) {
    auto r = hisgate::agent::read_install_request(body);
    return r ? "ok" : r.error().code;
}

}  // namespace

TEST_CASE("release.install: the payload is checked and bounded before it reaches the updater", "[updater]") {
    using nlohmann::json;
    CHECK(code_of_install_request(json{{"version", "1.2.0"}, {"manifest_url", "https://cp/api/v1/releases/1.2.0/manifest"}}) == "ok");
    CHECK(code_of_install_request(json{{"version", "1.2.0"}, {"manifest_url", "/var/lib/hisgate/releases/1.2.0/manifest.json"}}) == "ok");
    CHECK(code_of_install_request(json::array()) == "request.invalid");
    CHECK(code_of_install_request(json{{"manifest_url", "https://cp/m"}}) == "request.invalid");
    CHECK(code_of_install_request(json{{"version", 12}, {"manifest_url", "https://cp/m"}}) == "request.invalid");
    CHECK(code_of_install_request(json{{"version", "1.2"}, {"manifest_url", "https://cp/m"}}) == "release.bad_version");
    CHECK(code_of_install_request(json{{"version", "1.2.0"}}) == "request.invalid");
    CHECK(code_of_install_request(json{{"version", "1.2.0"}, {"manifest_url", "ftp://cp/m"}}) == "request.invalid");
    CHECK(code_of_install_request(json{{"version", "1.2.0"}, {"manifest_url", "https://cp/a b"}}) == "request.invalid");
    CHECK(code_of_install_request(json{{"version", "1.2.0"}, {"manifest_url", "https://" + std::string(3000, 'a')}}) == "request.invalid");

    // Handed over: one file named by the request id, whole (written aside and renamed).
    hisgate::test::updater_site::TempDir spool_dir("release-install-spool");
    const std::string spool = spool_dir.path;
    auto answer = hisgate::agent::hand_to_updater(spool, "req-1", json{{"version", "1.2.0"}, {"manifest_url", "/r/m.json"}},
                                                  hisgate::SystemClock::instance());
    REQUIRE(answer.ok());
    CHECK(answer.value() == json{{"accepted", true}, {"version", "1.2.0"}});
    auto spooled = json::parse(hisgate::test::read_file(spool + "/req-1.json"));
    CHECK(spooled["manifest_url"] == "/r/m.json");
    CHECK(spooled["request_id"] == "req-1");
    int files = 0;
    for (auto& e : fs::directory_iterator(spool)) files += e.is_regular_file();
    CHECK(files == 1);
    // Without an updater beside it the agent says so.
    auto none = hisgate::agent::hand_to_updater("", "req-2", json{{"version", "1.2.0"}, {"manifest_url", "/r/m.json"}},
                                                hisgate::SystemClock::instance());
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == "release.install_unavailable");
}

TEST_CASE("release.install: over MQTT to the agent then installed by the updater and rolled back without losing a task", "[updater]") {
    hisgate::test::SystemOptions options;
    // Reports drain every 6 s: the version on trial admits them but is stopped before it
    // runs them, so the old version must find them in the state file.
    options.his_params = {{"H001", R"({"deferred_drain_interval": "6s"})"}};
    hisgate::test::updater_site::TempDir spool_holder_dir("release-install-site");
    const std::string spool_holder = spool_holder_dir.path;
    options.agent_config = {{"H001", nlohmann::json{{"updater", {{"spool_dir", spool_holder + "/site/spool"}}}}.dump()}};
    // The control plane serves the releases (docs/releases.md) over HTTPS: the updater fetches
    // the manifest and the delta from its API with a service token, trusting the test's CA.
    const std::string repo = spool_holder + "/repo";
    REQUIRE(hisgate::test::make_test_certificates(spool_holder, "api"));
    options.controlplane_config =
        nlohmann::json{{"releases", {{"repo_dir", repo}}},
                       {"http", {{"tls", {{"cert_file", spool_holder + "/api.crt"}, {"key_file", spool_holder + "/api.key"}}}}}}
            .dump();
    options.api_ca_file = spool_holder + "/ca.crt";
    hisgate::test::System sys(options);
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));

    ReleaseKit kit(spool_holder);
    REQUIRE(kit.ok());
    // 1.0.2 says 9.9.9, and migrates the state file to schema 4 as it starts.
    kit.migrated_state_file(sys.dir() + "/data/agent-H001.db");
    REQUIRE(kit.build_all({{"1.0.0"}, {"1.0.1"}, {"1.0.2", ReleaseKit::Build::MigratesStateForward, "9.9.9"}}));
    fs::create_directories(repo);
    for (const char* v : {"1.0.0", "1.0.1", "1.0.2"})
        REQUIRE(hisgate::test::updater_site::run_hisgate({"release", "publish", "--repo", repo, "--root",
                                                          kit.keys() + "/root.pub", kit.releases() + "/" + v})
                    .status == 0);
    REQUIRE(sys.start_controlplane(0));
    hisgate::test::write_file(spool_holder + "/updater.token", sys.token("service", "updater") + "\n");
    auto manifest_url = [&](const std::string& v) {
        return "https://127.0.0.1:" + std::to_string(sys.api_port()) + "/api/v1/releases/" + v + "/manifest";
    };
    Site site(spool_holder + "/site", kit, sys.dir() + "/etc/agent-H001.json", sys.agent_metrics_port("H001"));
    site.write_config({{"health", {{"timeout_ms", 2500}}},
                       {"token_file", spool_holder + "/updater.token"},
                       {"ca_file", spool_holder + "/ca.crt"}});
    REQUIRE(site.start_at("1.0.0"));

    hisgate::test::Process serve({hisgate::test::binary("updater/hisgate-updater"), "serve", "--config", site.config()},
                                 spool_holder + "/serve.out");
    REQUIRE(serve.start());
    hisgate::test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());

    // A bad payload is answered with an error naming it; nothing reaches the spool.
    auto bad = cp.ask("release.install", {{"version", "1.0"}, {"manifest_url", kit.manifest("1.0.1")}}, 15s);
    REQUIRE(bad.has_value());
    REQUIRE(bad->error.has_value());
    CHECK(bad->error->code == "release.bad_version");

    // The contract: {"accepted": true, "version"} at once; the version shows in the birth.
    auto accepted = cp.ask("release.install", {{"version", "1.0.1"}, {"manifest_url", manifest_url("1.0.1")}}, 15s);
    REQUIRE(accepted.has_value());
    INFO(accepted->to_json());
    REQUIRE_FALSE(accepted->error.has_value());
    CHECK(accepted->body == nlohmann::json{{"accepted", true}, {"version", "1.0.1"}});
    REQUIRE(site.eventually_running("1.0.1"));
    CHECK(hisgate::test::eventually(
        [&] {
            for (const auto& s : cp.states())
                if (s.body.value("version", "") == "1.0.1" && s.body.value("online", false)) return true;
            return false;
        },
        15s));
    CHECK(hisgate::test::eventually([&] { return site.result().value("to", "") == "1.0.1" && site.journal_phase() == "idle"; }, 10s));
    CHECK(site.result()["package"] == "delta");  // downloaded from the control plane
    CHECK_FALSE(fs::exists(site.root() + "/downloads/hisgate-1.0.1-from-1.0.0.delta.zst.part"));

    // A release that never proves healthy, and has migrated the state file to a newer
    // schema: the reports it accepts during its trial are answered by 1.0.1 after the
    // rollback, each once, from the same (still newer) file.
    auto trial = cp.ask("release.install", {{"version", "1.0.2"}, {"manifest_url", kit.manifest("1.0.2")}}, 15s);
    REQUIRE(trial.has_value());
    REQUIRE_FALSE(trial->error.has_value());
    REQUIRE(hisgate::test::eventually([&] { return site.running() == "9.9.9"; }, 15s));
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        auto report = hisgate::Envelope::make("report.get", "H001", {{"reportId", "R-TRIAL-" + std::to_string(i)}});
        REQUIRE(cp.send(report).ok());
        ids.push_back(report.id);
    }
    REQUIRE(hisgate::test::eventually([&] { return site.result().value("to", "") == "1.0.2"; }, 20s));
    auto r = site.result();
    CHECK(r["rolled_back"] == true);
    CHECK(r["error"]["code"] == "updater.wrong_version");
    CHECK(site.eventually_running("1.0.1"));
    CHECK(hisgate::test::eventually(
        [&] {
            auto answers = cp.answers();
            for (const auto& id : ids)
                if (!answers.count(id)) return false;
            return true;
        },
        30s));
    CHECK(cp.duplicates() == 0);
    // They were the trial's: 1.0.1 found them unfinished in the state file it started on.
    auto log = hisgate::test::read_file(sys.dir() + "/logs/agent-H001.log");
    CHECK(log.find("\"event\":\"queue.resumed\",\"level\":\"info\",\"proc\":\"agent:H001\",\"tasks\":5") != std::string::npos);
    // The backup taken before the trial is schema 3; the live file stays at 4, as 1.0.1
    // found it (it never rewrites a newer file), with the newer release's table.
    auto schema_of = [](const std::string& path, const char* query) {
        auto db = hisgate::sql::Db::open(path);
        REQUIRE(db);
        auto q = db->prepare(query);
        REQUIRE(q);
        REQUIRE(q->step());
        return q->integer(0);
    };
    CHECK(schema_of(site.root() + "/backups/1.0.1-to-1.0.2/0-agent-H001.db", "PRAGMA user_version") == 3);
    CHECK(schema_of(sys.dir() + "/data/agent-H001.db", "PRAGMA user_version") == 4);
    CHECK(schema_of(sys.dir() + "/data/agent-H001.db", "SELECT count(*) FROM sqlite_master WHERE name = 'task_notes'") == 1);
    serve.stop();
    site.agent("stop");
}

TEST_CASE("updater: a package download killed with kill -9 half-way resumes from what it kept, over HTTPS", "[updater]") {
    hisgate::test::updater_site::TempDir t("updater-resume");
    ReleaseKit kit(t.path);
    REQUIRE(kit.ok());
    REQUIRE(kit.build_all({{"1.0.0"}}));
    const std::string repo = t.path + "/repo";
    fs::create_directories(repo);
    REQUIRE(hisgate::test::updater_site::run_hisgate(
                {"release", "publish", "--repo", repo, "--root", kit.keys() + "/root.pub", kit.releases() + "/1.0.0"})
                .status == 0);
    auto published = hisgate::release::find_published(repo, "1.0.0");
    REQUIRE(published);
    const auto full = *published->manifest.full();

    // The control plane serves the repository over HTTPS; the updater trusts its CA.
    REQUIRE(hisgate::test::make_test_certificates(t.path, "api"));
    hisgate::test::SystemOptions options;
    options.hospitals = {};
    options.controlplane_config =
        nlohmann::json{{"releases", {{"repo_dir", repo}}},
                       {"http", {{"tls", {{"cert_file", t.path + "/api.crt"}, {"key_file", t.path + "/api.key"}}}}}}
            .dump();
    options.api_ca_file = t.path + "/ca.crt";
    hisgate::test::System sys(options);
    REQUIRE(sys.start());
    hisgate::test::write_file(t.path + "/updater.token", sys.token("service", "updater") + "\n");
    const std::string url = "https://127.0.0.1:" + std::to_string(sys.api_port()) + "/api/v1/releases/1.0.0/manifest";

    Site site(t.path + "/site", kit);
    const nlohmann::json reach = {{"token_file", t.path + "/updater.token"}, {"ca_file", t.path + "/ca.crt"}};
    nlohmann::json capped = reach;
    capped["max_bytes_per_second"] = 256 * 1024;  // a thin hospital link: the kill lands mid-package
    site.write_config(capped);
    const std::string part = site.root() + "/downloads/" + fs::path(full.path).filename().string() + ".part";
    auto kept = [&]() -> uint64_t {
        std::error_code ec;
        auto n = fs::file_size(part, ec);
        return ec ? 0 : n;
    };
    hisgate::test::Process first({hisgate::test::binary("updater/hisgate-updater"), "install", "--manifest", url, "--config",
                                  site.config()},
                                 t.path + "/first.out");
    REQUIRE(first.start());
    REQUIRE(hisgate::test::eventually([&] { return kept() >= 512 * 1024; }, 60s));
    first.kill9();
    const uint64_t before = kept();
    INFO("package " << full.size << " bytes, " << before << " kept by the killed run");
    REQUIRE(before < full.size);
    CHECK(site.current().empty());  // nothing was installed

    site.write_config(reach);  // uncapped, so the rest comes at once
    auto second = site.updater({"install", "--manifest", url});
    INFO(second.output);
    REQUIRE(second.status == 0);
    CHECK(site.eventually_running("1.0.0"));
    CHECK_FALSE(fs::exists(part));
    // Only the rest crossed the link: the kept prefix was not fetched again.
    std::smatch m;
    REQUIRE(std::regex_search(second.output, m,
                              std::regex(R"re("event":"updater.package_downloaded"[^}]*"resumed_from":([0-9]+),"transferred":([0-9]+))re")));
    CHECK(std::stoull(m[1].str()) == before);
    CHECK(std::stoull(m[2].str()) == full.size - before);
}
