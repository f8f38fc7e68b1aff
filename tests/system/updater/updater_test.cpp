// hisgate-updater with real processes and real packages (docs/updater.md): releases of the
// built agent made and signed by `hisgate release`, the agent started and stopped through
// bench/updater/agent-ctl.sh (as systemd would), hisgate-updater run as a program.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "release/ed25519.h"
#include "release/signed_document.h"
#include "updater_site.h"

namespace {

namespace fs = std::filesystem;
using hisgate::test::updater_site::ReleaseKit;
using hisgate::test::updater_site::Site;
using Build = ReleaseKit::Build;

// A copy of release `v`'s directory to spoil, and its manifest's path.
std::string copy_release_for_updater_test(const ReleaseKit& kit, const std::string& v, const std::string& name) {
    std::string to = fs::path(kit.releases()).parent_path().string() + "/spoiled-" + name + "/" + v;
    fs::create_directories(fs::path(to).parent_path());
    fs::copy(kit.releases() + "/" + v, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    return to;
}

// The package files of a release directory (what `release build` named *.zst).
std::vector<std::string> packages_of_updater_test(const std::string& dir) {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".zst") out.push_back(e.path().string());
    return out;
}

}  // namespace

TEST_CASE("updater: installs by delta and rolls back by itself a build that fails its health gate", "[updater]") {
    hisgate::test::updater_site::TempDir t_dir("updater-gate");
    const std::string t = t_dir.path;
    ReleaseKit kit(t);
    REQUIRE(kit.ok());
    // 1.0.2 exits as it starts; 1.0.3 says it is 1.0.1.
    REQUIRE(kit.build_all({{"1.0.0"}, {"1.0.1"}, {"1.0.2", Build::CrashesOnStart}, {"1.0.3", Build::Good, "1.0.1"}}));
    Site site(t + "/site", kit);

    // A first install: the full package, the link made, the agent started.
    auto first = site.install("1.0.0");
    INFO(first.output);
    REQUIRE(first.status == 0);
    CHECK(site.result()["package"] == "full");
    CHECK(site.current() == "1.0.0");
    REQUIRE(site.eventually_running("1.0.0"));

    // The next version by its delta; the state backed up while the agent was stopped.
    auto second = site.install("1.0.1");
    INFO(second.output);
    REQUIRE(second.status == 0);
    auto r = site.result();
    CHECK(r["ok"] == true);
    CHECK(r["package"] == "delta");
    CHECK(r["from"] == "1.0.0");
    CHECK(r["running"] == "1.0.1");
    CHECK(r["downtime_ms"].get<int64_t>() >= 0);
    CHECK(site.current() == "1.0.1");
    CHECK(site.running() == "1.0.1");
    CHECK(fs::exists(site.root() + "/versions/1.0.0/bin/hisgate-agent"));  // side by side
    CHECK(fs::exists(site.root() + "/backups/1.0.0-to-1.0.1/0-agent.db"));
    CHECK(site.journal_phase() == "idle");

    // The same version again: nothing to do, the agent not restarted.
    int pid = site.agent_pid();
    REQUIRE(site.install("1.0.1").status == 0);
    CHECK(site.agent_pid() == pid);

    // A build that crashes as it starts: never healthy, so back to 1.0.1, with the reason.
    auto crashing = site.install("1.0.2");
    INFO(crashing.output);
    CHECK(crashing.status == 1);
    r = site.result();
    CHECK(r["ok"] == false);
    CHECK(r["rolled_back"] == true);
    CHECK(r["error"]["code"] == "updater.unhealthy");
    CHECK(r["error"]["class"] == "unavailable");
    CHECK(r["running"] == "1.0.1");
    CHECK(site.current() == "1.0.1");
    CHECK(site.eventually_running("1.0.1"));
    CHECK(site.journal_phase() == "idle");

    // A build that runs but reports another version than it was released as.
    auto wrong = site.install("1.0.3");
    INFO(wrong.output);
    CHECK(wrong.status == 1);
    r = site.result();
    CHECK(r["rolled_back"] == true);
    CHECK(r["error"]["code"] == "updater.wrong_version");
    CHECK(r["error"]["message"].get<std::string>().find("reports version 1.0.1, expected 1.0.3") != std::string::npos);
    CHECK(site.current() == "1.0.1");
    CHECK(site.eventually_running("1.0.1"));
    // Old trees do not pile up: keep_versions (3) in all, the current one among them.
    std::set<std::string> kept;
    for (auto& e : fs::directory_iterator(site.root() + "/versions")) kept.insert(e.path().filename().string());
    CHECK(kept == std::set<std::string>{"1.0.1", "1.0.2", "1.0.3"});
    site.agent("stop");
}

TEST_CASE("updater: refuses bad releases each with its code and leaves the running agent untouched", "[updater]") {
    hisgate::test::updater_site::TempDir t_dir("updater-refusals");
    const std::string t = t_dir.path;
    ReleaseKit kit(t);
    REQUIRE(kit.ok());
    REQUIRE(kit.build_all({{"1.0.0"}, {"1.0.1"}}));
    Site site(t + "/site", kit);
    REQUIRE(site.start_at("1.0.0"));
    const int pid = site.agent_pid();
    REQUIRE(pid > 0);

    auto refused = [&](const hisgate::test::Captured& run, const std::string& code) {
        INFO(code << ": " << run.output);
        CHECK(run.status == 1);
        CHECK(run.output.find(code) != std::string::npos);
        CHECK(site.result()["error"]["code"] == code);
        CHECK(site.current() == "1.0.0");
        CHECK(site.agent_pid() == pid);  // never stopped
        CHECK(site.running() == "1.0.0");
        CHECK(site.journal_phase() != "stopping");
    };
    auto install_from = [&](const std::string& manifest) {
        return site.updater({"install", "--manifest", manifest});
    };

    SECTION("a manifest changed after signing") {
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "tampered");
        auto m = nlohmann::json::parse(hisgate::test::read_file(dir + "/manifest.json"));
        m["signed"]["notes"] = "harmless, honest";
        hisgate::test::write_file(dir + "/manifest.json", m.dump());
        refused(install_from(dir + "/manifest.json"), "release.bad_signature");
    }
    SECTION("a signing key certified by another root") {
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "other-root");
        REQUIRE(hisgate::test::updater_site::run_hisgate({"release", "keygen", "--out", t + "/keys/other"}).status == 0);
        REQUIRE(hisgate::test::updater_site::run_hisgate({"release", "certify", "--root", t + "/keys/other.key", "--key",
                                                          t + "/keys/signing.pub", "--name", "x", "--days", "3", "--out",
                                                          t + "/keys/other.cert.json"}).status == 0);
        auto m = nlohmann::json::parse(hisgate::test::read_file(dir + "/manifest.json"));
        m["certificate"] = nlohmann::json::parse(hisgate::test::read_file(t + "/keys/other.cert.json"));
        hisgate::test::write_file(dir + "/manifest.json", m.dump());
        refused(install_from(dir + "/manifest.json"), "release.key_not_certified");
    }
    SECTION("a manifest signed after its key's certificate expired") {
        REQUIRE(hisgate::test::updater_site::run_hisgate(
                    {"release", "certify", "--root", t + "/keys/root.key", "--key", t + "/keys/signing.pub", "--name", "old",
                     "--not-before", "2020-01-01T00:00:00Z", "--not-after", "2020-12-31T00:00:00Z", "--out",
                     t + "/keys/expired.cert.json"}).status == 0);
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "expired");
        auto m = nlohmann::json::parse(hisgate::test::read_file(dir + "/manifest.json"));
        m["signed"]["signed_at"] = "2021-06-01T00:00:00Z";
        auto key = hisgate::release::Ed25519Key::load_file(t + "/keys/signing.key");
        REQUIRE(key.ok());
        auto doc = hisgate::release::sign_document(m["signed"], key.value());
        REQUIRE(doc.ok());
        nlohmann::json signed_doc = doc.value();
        signed_doc["certificate"] = nlohmann::json::parse(hisgate::test::read_file(t + "/keys/expired.cert.json"));
        hisgate::test::write_file(dir + "/manifest.json", signed_doc.dump());
        refused(install_from(dir + "/manifest.json"), "release.key_expired");
    }
    SECTION("a revoked signing key, and an older revocation list put back") {
        auto run = [&](std::vector<std::string> args) { return hisgate::test::updater_site::run_hisgate(args).status; };
        std::string list = t + "/keys/revocations.json";
        REQUIRE(run({"release", "revoke", "--root", t + "/keys/root.key", "--key-id", "00000000000000aa", "--reason",
                     "unrelated", "--list", list}) == 0);
        fs::copy_file(list, t + "/keys/revocations-1.json");
        auto signing = hisgate::release::Ed25519Key::load_file(t + "/keys/signing.key");
        REQUIRE(signing.ok());
        REQUIRE(run({"release", "revoke", "--root", t + "/keys/root.key", "--key-id", signing->key_id(), "--reason",
                     "leaked", "--list", list}) == 0);
        site.write_config({{"revocations", list}});
        refused(site.install("1.0.1"), "release.key_revoked");
        // The updater has seen serial 2: serial 1 (which did not name the key) is refused.
        site.write_config({{"revocations", t + "/keys/revocations-1.json"}});
        refused(site.install("1.0.1"), "updater.revocations_rolled_back");
    }
    SECTION("packages whose bytes differ from the manifest's") {
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "checksum");
        for (const auto& p : packages_of_updater_test(dir)) {
            std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(20);
            f.put('\x5a');
        }
        refused(install_from(dir + "/manifest.json"), "release.checksum_mismatch");
    }
    SECTION("a truncated package") {
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "truncated");
        for (const auto& p : packages_of_updater_test(dir)) fs::resize_file(p, fs::file_size(p) / 2);
        refused(install_from(dir + "/manifest.json"), "release.truncated");
    }
    SECTION("a delta for another base, without a full package to fall back on") {
        std::string dir = copy_release_for_updater_test(kit, "1.0.1", "other-base");
        for (const auto& p : packages_of_updater_test(dir))
            if (p.find(".full.") != std::string::npos) fs::remove(p);
        // The installed tree is no longer 1.0.0's content: the delta does not apply to it.
        hisgate::test::write_file(site.root() + "/versions/1.0.0/bin/local-note", "changed by hand\n");
        refused(install_from(dir + "/manifest.json"), "release.delta_base_mismatch");
        // With the full package there, it is used instead (and the switch happens).
        auto full = site.install("1.0.1");
        INFO(full.output);
        CHECK(full.status == 0);
        CHECK(site.result()["package"] == "full");
        CHECK(site.eventually_running("1.0.1"));
    }
    SECTION("a disk too full to unpack (the configured size limit)") {
        site.write_config({{"max_unpack_bytes", 4096}});
        refused(site.install("1.0.1"), "updater.disk_full");
        CHECK_FALSE(fs::exists(site.root() + "/versions/1.0.1"));
    }
    SECTION("a release whose protocol range excludes the control plane") {
        REQUIRE(kit.build("1.0.1", Build::Good, "", "3-4", t + "/releases-p3").status == 0);
        refused(install_from(t + "/releases-p3/1.0.1/manifest.json"), "updater.protocol_excluded");
    }
    SECTION("an older version: refused, unless the operator's signed override names it") {
        REQUIRE(site.install("1.0.1").status == 0);
        REQUIRE(site.eventually_running("1.0.1"));
        auto down = site.install("1.0.0");
        CHECK(down.status == 1);
        CHECK(site.result()["error"]["code"] == "updater.downgrade");
        CHECK(site.current() == "1.0.1");
        auto make = hisgate::test::run_capture({hisgate::test::binary("updater/hisgate-updater"), "override", "--root-key",
                                                t + "/keys/root.key", "--version", "1.0.0", "--not-after",
                                                "2099-01-01T00:00:00Z", "--reason", "test", "--out", t + "/override.json"});
        REQUIRE(make.status == 0);
        // An override signed by another key than the root is no override.
        auto signing_made = hisgate::test::run_capture({hisgate::test::binary("updater/hisgate-updater"), "override",
                                                        "--root-key", t + "/keys/signing.key", "--version", "1.0.0",
                                                        "--not-after", "2099-01-01T00:00:00Z", "--out", t + "/bad-override.json"});
        REQUIRE(signing_made.status == 0);
        CHECK(site.install("1.0.0", 0, t + "/bad-override.json").status == 1);
        CHECK(site.result()["error"]["code"] == "release.bad_signature");
        auto allowed = site.install("1.0.0", 0, t + "/override.json");
        INFO(allowed.output);
        CHECK(allowed.status == 0);
        CHECK(site.eventually_running("1.0.0"));
    }
    site.agent("stop");
}

// The model is tests/unit/agent/queue/crash_test.cpp: seeded, printed, replayable with
// HISGATE_CRASH_SEED. Each round starts from 1.0.0 running and installs either a good
// 1.0.1 or a 1.0.2 that crashes as it starts (so the rollback's steps are hit too), the
// updater killed (SIGKILL, HISGATE_UPDATER_DIE_AT) at a seeded crash point of that run.
// After the kill `current` names a complete tree of 1.0.0 or the target, and after
// `hisgate-updater resume` the agent runs and reports exactly the version `current` names:
// 1.0.0 or 1.0.1, never 1.0.2, never none.
TEST_CASE("updater: kill -9 at 30 seeded points leaves the old or the new version running", "[updater][crash]") {
    hisgate::test::updater_site::TempDir t_dir("updater-crash");
    const std::string t = t_dir.path;
    ReleaseKit kit(t);
    REQUIRE(kit.ok());
    REQUIRE(kit.build_all({{"1.0.0"}, {"1.0.1"}, {"1.0.2", Build::CrashesOnStart}}));
    Site site(t + "/site", kit);
    site.write_config({{"health", {{"timeout_ms", 1500}}}});
    REQUIRE(site.start_at("1.0.0"));

    // Back to 1.0.0 running, as an operator would put it.
    auto reset = [&] {
        REQUIRE(site.agent("stop"));
        fs::remove(site.root() + "/updater-state.json");
        fs::remove(site.root() + "/current.new");
        fs::create_directory_symlink("versions/1.0.0", site.root() + "/current.new");
        fs::rename(site.root() + "/current.new", site.root() + "/current");
        fs::remove_all(site.root() + "/versions/1.0.1");
        fs::remove_all(site.root() + "/versions/1.0.2");
        REQUIRE(site.agent("start"));
        REQUIRE(site.eventually_running("1.0.0"));
    };
    // How many crash points a whole run of each install passes.
    auto points_of = [&](const std::string& v) {
        reset();
        auto run = site.install(v, 1000000);
        static const std::regex passed("crash points passed: ([0-9]+)");
        std::smatch m;
        REQUIRE(std::regex_search(run.output, m, passed));
        return std::stol(m[1].str());
    };
    const long good_points = points_of("1.0.1"), bad_points = points_of("1.0.2");
    INFO("crash points: good install " << good_points << ", rolled back " << bad_points);
    REQUIRE(good_points >= 15);
    REQUIRE(bad_points > good_points);

    uint64_t seed = std::random_device{}();
    if (const char* s = std::getenv("HISGATE_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
    std::printf("updater crash test: HISGATE_CRASH_SEED=%llu (good %ld points, rolled back %ld)\n",
                static_cast<unsigned long long>(seed), good_points, bad_points);
    std::mt19937_64 rng(seed);
    int completed = 0, rolled_back = 0, untouched = 0;
    for (int round = 0; round < 30; ++round) {
        const bool good = round % 2 == 0;
        const std::string target = good ? "1.0.1" : "1.0.2";
        const long point = std::uniform_int_distribution<long>(1, good ? good_points : bad_points)(rng);
        INFO("seed " << seed << " round " << round << ": " << target << " killed at point " << point);
        reset();
        auto killed = site.install(target, point);
        INFO(killed.output);
        CHECK(killed.status == 128 + 9);
        // Right after the kill: `current` names a complete tree, old or new.
        std::string now = site.current();
        CHECK((now == "1.0.0" || now == target));
        CHECK(fs::exists(site.root() + "/versions/" + now + "/bin/hisgate-agent"));
        auto resumed = site.updater({"resume"});
        INFO(resumed.output);
        CHECK((resumed.status == 0 || resumed.status == 1));
        CHECK((site.journal_phase() == "idle" || site.journal_phase().empty()));
        std::string after = site.current();
        CHECK((after == "1.0.0" || after == "1.0.1"));
        CHECK(site.eventually_running(after));
        if (after == "1.0.1")
            ++completed;
        else if (site.journal_phase().empty())
            ++untouched;
        else
            ++rolled_back;
    }
    std::printf("updater crash test: %d completed, %d rolled back, %d killed before the switch was journaled\n", completed,
                rolled_back, untouched);
    site.agent("stop");
}
