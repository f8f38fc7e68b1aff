// A rollout driving real agents and their updaters end to end (issue 16, "Done when"): six
// releases of the built agent made by `hisgate release` (version stamps 1.0.0 .. 1.5.0; from
// 1.3.0 on the release carries a parameter catalog in which his.max_attempts narrowed), sites
// started at mixed versions, each a real agent run through agent-ctl.sh with its own
// `hisgate-updater serve`, his-sim as its HIS; the control plane (real Mosquitto, its release
// repository and rollout engine) takes them all to 1.5.0 by deltas; then a 1.6.0 that exits as
// it starts is rolled back by each canary's updater and halts the rollout on its first wave.
//
// HISGATE_ROLLOUT_SITES sets the number of sites (default 6, one per version: the suite's
// slice; bench/rollout/updaters runs 20). Prints the wall time of each rollout and wave.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "tests/support/process.h"
#include "tests/support/system.h"
#include "updater_site.h"

namespace {

namespace fs = std::filesystem;
using hisgate::test::updater_site::ReleaseKit;
using hisgate::test::updater_site::run_hisgate;
using hisgate::test::updater_site::Site;
using nlohmann::json;
using namespace std::chrono_literals;

int site_count() {
    const char* n = std::getenv("HISGATE_ROLLOUT_SITES");
    int sites = n ? std::atoi(n) : 6;
    return sites < 1 ? 6 : std::min(sites, 50);
}

// The fleet API's online hospitals and the version of their last birth.
std::map<std::string, std::string> online_versions(hisgate::test::System& sys) {
    std::map<std::string, std::string> out;
    auto doc = json::parse(sys.get("/api/v1/fleet?limit=1000").body, nullptr, false);
    if (!doc.is_object() || !doc["hospitals"].is_array()) return out;
    for (const auto& h : doc["hospitals"])
        if (h.value("state", "") == "online") out[h.value("hospitalId", "")] = h.value("version", "");
    return out;
}

// A time in ms of a rollout's JSON; 0 when not set (null: not sent, not judged).
int64_t ms_of(const json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<int64_t>() : 0;
}

json rollout_of(hisgate::test::System& sys, const std::string& id) {
    auto reply = sys.get("/api/v1/rollouts/" + id);
    return reply.status == 200 ? json::parse(reply.body, nullptr, false) : json();
}

// Wall time of a rollout and of each wave (first send to last judgement), as printed figures.
void print_figures(const char* what, int sites, const json& r) {
    std::printf("rollout-updaters: %s, %d sites: %lld ms from start to %s\n", what, sites,
                static_cast<long long>(ms_of(r, "updatedMs") - ms_of(r, "createdMs")),
                r.value("state", "").c_str());
    std::map<int, std::pair<int64_t, int64_t>> span;
    std::map<int, int> size;
    for (const auto& t : r["targets"]) {
        int w = t.value("wave", 0);
        const int64_t sent = ms_of(t, "sentMs"), judged = ms_of(t, "judgedMs");
        if (sent <= 0) continue;
        auto& s = span.try_emplace(w, sent, judged).first->second;
        s.first = std::min(s.first, sent);
        s.second = std::max(s.second, judged);
        ++size[w];
    }
    for (const auto& [w, s] : span)
        std::printf("rollout-updaters:   wave %d: %d sent, %lld ms from first send to last judged\n", w, size[w],
                    static_cast<long long>(s.second - s.first));
    std::fflush(stdout);
}

}  // namespace

TEST_CASE("rollout: real agents at mixed versions go to the newest by deltas and a broken build rolls back on the canary and halts",
          "[updater][rollout]") {
    const int n = site_count();
    const std::vector<std::string> versions = {"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0"};
    const std::string newest = versions.back(), broken = "1.6.0";
    hisgate::test::updater_site::TempDir t("rollout-updaters");

    // The releases. From 1.3.0 on, the catalog narrows his.max_attempts from 1..10 to 1..5:
    // a breaking change the rollout's parameter gate must check each older site's file for.
    ReleaseKit kit(t.path);
    REQUIRE(kit.ok());
    auto listed = run_hisgate({"params", "list", "--json"});
    REQUIRE(listed.status == 0);
    auto catalog = json::parse(listed.output, nullptr, false);
    REQUIRE(catalog.is_object());
    bool narrowed = false;
    for (auto& p : catalog["parameters"]) {
        if (p.value("name", "") != "his.max_attempts") continue;
        p["max"] = 5;
        narrowed = true;
    }
    REQUIRE(narrowed);
    const std::string narrowed_catalog = t.path + "/catalog-max-attempts-5.json";
    hisgate::test::write_file(narrowed_catalog, catalog.dump(2));
    std::vector<ReleaseKit::Wanted> wanted;
    for (size_t i = 0; i < versions.size(); ++i)
        wanted.push_back({versions[i], ReleaseKit::Build::Good, "", i >= 3 ? narrowed_catalog : ""});
    wanted.push_back({broken, ReleaseKit::Build::CrashesOnStart, "", narrowed_catalog});
    std::string failed_build;
    const bool built = kit.build_all(wanted, &failed_build);
    INFO(failed_build);
    REQUIRE(built);
    // A catalog that does not read is refused, naming it; nothing is built.
    auto bad = run_hisgate({"release", "build", "--version", "9.0.0", "--from", t.path + "/tree-1.0.0", "--out",
                            t.path + "/not-built", "--catalog", t.path + "/no-such-catalog.json"});
    CHECK(bad.status == 1);
    CHECK(bad.output.find("params.unreadable") != std::string::npos);
    CHECK_FALSE(fs::exists(t.path + "/not-built/manifest.json"));
    // The release notes carry the parameter diff of the release that changed it.
    auto notes = json::parse(hisgate::test::read_file(kit.manifest("1.3.0")))["signed"].value("notes", "");
    CHECK(notes.find("Parameter changes since 1.2.0") != std::string::npos);
    CHECK(notes.find("his.max_attempts") != std::string::npos);
    const std::string repo = t.path + "/repo";
    fs::create_directories(repo);
    for (const auto& w : wanted)
        REQUIRE(run_hisgate({"release", "publish", "--repo", repo, "--root", kit.keys() + "/root.pub",
                             kit.releases() + "/" + w.version})
                    .status == 0);

    // The fleet: hospital i's site starts at versions[i % 6]; H001 sets his.max_attempts 3
    // (valid under both catalogs), heartbeats every second so a rollout judges quickly.
    hisgate::test::SystemOptions options;
    options.hospitals.clear();
    for (int i = 1; i <= n; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "H%03d", i);
        options.hospitals.push_back(id);
        options.agent_config[id] = json{{"updater",
                                         {{"spool_dir", t.path + "/sites/" + id + "/spool"},
                                          {"result_file", t.path + "/sites/" + id + "/root/updater-result.json"}}}}
                                       .dump();
        options.more_params[id] = json{{"presence", {{"heartbeat_interval", "1s"}}}}.dump();
    }
    options.his_params["H001"] = R"({"max_attempts": 3})";
    options.controlplane_config = json{{"releases", {{"repo_dir", repo}}}, {"rollouts", {{"interval_ms", 200}}}}.dump();
    hisgate::test::System sys(options);
    REQUIRE(sys.broker().start());
    for (const auto& h : options.hospitals) REQUIRE(sys.start_sim(h));
    REQUIRE(sys.start_controlplane(0));
    hisgate::test::write_file(t.path + "/updater.token", sys.token("service", "updater") + "\n");

    std::map<std::string, std::string> started_at;
    std::vector<std::unique_ptr<Site>> sites;
    std::vector<hisgate::test::Process> serves;
    for (int i = 0; i < n; ++i) {
        const std::string& h = options.hospitals[i];
        sites.push_back(std::make_unique<Site>(t.path + "/sites/" + h, kit, sys.dir() + "/etc/agent-" + h + ".json",
                                               sys.agent_metrics_port(h)));
        // A crash on start is judged unhealthy at timeout_ms; a good build proves itself in trial_ms.
        sites.back()->write_config({{"health", {{"trial_ms", 500}, {"timeout_ms", 8000}}},
                                    {"token_file", t.path + "/updater.token"}});
        started_at[h] = versions[i % versions.size()];
        INFO(h << " at " << started_at[h]);
        REQUIRE(sites.back()->start_at(started_at[h]));  // its first install: the full package, from files
        serves.emplace_back(std::vector<std::string>{hisgate::test::binary("updater/hisgate-updater"), "serve", "--config",
                                                     sites.back()->config()},
                            t.path + "/sites/" + h + "/serve.out");
        REQUIRE(serves.back().start());
    }
    REQUIRE(hisgate::test::eventually([&] { return online_versions(sys) == started_at; }, 60s));

    // Rollout 1: every site below 1.5.0 taken to it through three waves, no failure allowed.
    auto start1 = sys.post("/api/v1/rollouts", json{{"release", newest},
                                                    {"waves", "10%,50%,100%"},
                                                    {"maxFailure", "0%"},
                                                    {"waveTimeout", "60s"},
                                                    {"soak", "1s"}}
                                                   .dump());
    REQUIRE(start1.status == 201);
    const std::string first = json::parse(start1.body)["id"];
    const auto deadline1 = std::chrono::seconds(30 + 10 * n);
    REQUIRE(hisgate::test::eventually(
        [&] {
            auto s = rollout_of(sys, first).value("state", "");
            return s == "done" || s == "halted";
        },
        deadline1));
    auto done = rollout_of(sys, first);
    INFO(done.dump(2));
    REQUIRE(done["state"] == "done");
    int below = 0, older_catalog = 0;
    for (const auto& [h, v] : started_at) {
        below += v != newest;
        older_catalog += v == "1.0.0" || v == "1.1.0" || v == "1.2.0";
    }
    CHECK(done["totals"]["succeeded"] == below);
    CHECK(done["failed"].empty());
    CHECK(done["held"].empty());
    CHECK(done["refused"].empty());
    print_figures("to 1.5.0 by deltas", n, done);
    // Every birth says 1.5.0; every updater that moved installed a delta from its own version.
    REQUIRE(hisgate::test::eventually([&] {
        auto now = online_versions(sys);
        return now.size() == static_cast<size_t>(n) &&
               std::all_of(now.begin(), now.end(), [&](const auto& kv) { return kv.second == newest; });
    }));
    for (int i = 0; i < n; ++i) {
        const std::string& h = options.hospitals[i];
        INFO(h << " started at " << started_at[h]);
        CHECK(sites[i]->running() == newest);
        CHECK(sites[i]->current() == newest);
        if (started_at[h] == newest) continue;
        auto r = sites[i]->result();
        CHECK(r.value("from", "") == started_at[h]);
        CHECK(r.value("to", "") == newest);
        CHECK(r.value("ok", false));
        CHECK(r.value("package", "") == "delta");
        auto serve_log = hisgate::test::read_file(t.path + "/sites/" + h + "/serve.out");
        CHECK(serve_log.find("updater.delta_skipped") == std::string::npos);
        CHECK(serve_log.find("hisgate-" + newest + "-from-" + started_at[h] + ".delta.zst") != std::string::npos);
    }
    // The gate fetched (params.get) and checked the file of each site whose catalog narrows.
    auto cp_log = hisgate::test::read_file(sys.dir() + "/logs/controlplane-cp1.log");
    size_t received = 0;
    for (size_t at = 0; (at = cp_log.find("\"rollout.params_file_received\"", at)) != std::string::npos; ++at) ++received;
    CHECK(received == static_cast<size_t>(older_catalog));

    // Rollout 2: 1.6.0 exits as it starts. The canary wave's updaters roll back by themselves
    // and their agents report it (lastInstall): a canary is failed at once with the updater's
    // reason, well before its wave's deadline, and the rollout halts there.
    auto start2 = sys.post("/api/v1/rollouts", json{{"release", broken},
                                                    {"waves", "10%,50%,100%"},
                                                    {"maxFailure", "5%"},
                                                    {"waveTimeout", "45s"},
                                                    {"soak", "1s"}}
                                                   .dump());
    REQUIRE(start2.status == 201);
    const std::string second = json::parse(start2.body)["id"];
    REQUIRE(hisgate::test::eventually([&] { return rollout_of(sys, second).value("state", "") == "halted"; }, 60s));
    auto halted = rollout_of(sys, second);
    INFO(halted.dump(2));
    print_figures("broken 1.6.0 halted", n, halted);
    const int canary_wave = static_cast<int>(std::ceil(n * 0.10));
    CHECK(halted["sent"] == canary_wave);
    CHECK(halted["currentWave"] == 1);
    REQUIRE_FALSE(halted["failed"].empty());
    std::set<std::string> canaries;
    for (const auto& target : halted["targets"])
        if (target.value("wave", 0) == 1) canaries.insert(target.value("hospitalId", ""));
    CHECK(canaries.size() == static_cast<size_t>(canary_wave));
    const std::string reason = halted.value("haltReason", "");
    for (const auto& f : halted["failed"]) {
        CHECK(canaries.count(f.value("hospitalId", "")) == 1);
        CHECK(reason.find(f.value("hospitalId", "")) != std::string::npos);
        CHECK(f.value("reason", "").find("rolled back by its updater: updater.unhealthy") != std::string::npos);
    }
    CHECK(reason.find("rolled back by its updater: updater.unhealthy: ") != std::string::npos);
    for (const auto& target : halted["targets"])
        if (target.value("state", "") == "failed") {
            INFO(target.dump());
            CHECK(target.value("judgedMs", int64_t{0}) < target.value("deadlineMs", int64_t{0}));
        }
    for (int i = 0; i < n; ++i) {
        const std::string& h = options.hospitals[i];
        INFO(h);
        if (canaries.count(h)) {
            // Tried, failed its health gate, rolled back by its updater: 1.5.0 runs again.
            REQUIRE(hisgate::test::eventually([&] { return sites[i]->result().value("to", "") == broken; }, 30s));
            auto r = sites[i]->result();
            CHECK(r["rolled_back"] == true);
            CHECK(r["error"]["code"] == "updater.unhealthy");
            CHECK(r["running"] == newest);
            // The fleet shows it too, as the agent reported it (in its next heartbeat).
            json fleet;
            CHECK(hisgate::test::eventually([&] {
                fleet = json::parse(sys.get("/api/v1/fleet/" + h).body, nullptr, false);
                return fleet.is_object() && fleet["lastInstall"].is_object() && fleet["lastInstall"].value("to", "") == broken;
            }, 10s));
            INFO(fleet.dump(2));
            CHECK(fleet["lastInstall"]["to"] == broken);
            CHECK(fleet["lastInstall"]["from"] == newest);
            CHECK(fleet["lastInstall"]["rolledBack"] == true);
            CHECK(fleet["lastInstall"]["error"]["code"] == "updater.unhealthy");
        } else {
            // Never sent the broken build: nothing of it on the site.
            CHECK_FALSE(fs::exists(sites[i]->root() + "/versions/" + broken));
            CHECK(sites[i]->result().value("to", "") != broken);
        }
        CHECK(sites[i]->eventually_running(newest));
        CHECK(sites[i]->current() == newest);
    }
    REQUIRE(hisgate::test::eventually([&] {
        auto now = online_versions(sys);
        return now.size() == static_cast<size_t>(n) &&
               std::all_of(now.begin(), now.end(), [&](const auto& kv) { return kv.second == newest; });
    }));
    for (auto& s : serves) s.stop();
    for (auto& s : sites) s->agent("stop");
}
