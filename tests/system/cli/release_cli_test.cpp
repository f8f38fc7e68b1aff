// `hisgate release keygen|certify|revoke|build|sign|verify` through the real binary in a
// temp directory: a root and a signing key, three releases with deltas, a signed manifest
// verified with every package; then each refusal exits 1 naming its code.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;

hisgate::test::Captured release(std::vector<std::string> args) {
    args.insert(args.begin(), {hisgate::test::binary("cli/hisgate"), "release"});
    return hisgate::test::run_capture(std::move(args), std::chrono::seconds(60));
}

// The agent's install tree for version `v`: a binary that differs between versions only in
// its version stamp, and a config example.
void agent_tree(const std::string& dir, const std::string& v) {
    fs::create_directories(dir + "/bin");
    fs::create_directories(dir + "/etc");
    std::string binary;
    for (int i = 0; i < 20000; ++i) binary += "instruction " + std::to_string(i * 31 % 9973) + "\n";
    binary += "HISGATE_VERSION=" + v + "\n";
    hisgate::test::write_file(dir + "/bin/hisgate-agent", binary);
    fs::permissions(dir + "/bin/hisgate-agent", fs::perms(0755));
    hisgate::test::write_file(dir + "/etc/agent.example.json", "{\"hospital\": \"H1\"}\n");
}

// A signed manifest back to what `release build` wrote: "signed" without signed_at.
nlohmann::json unsigned_body(nlohmann::json doc) {
    doc["signed"].erase("signed_at");
    return {{"signed", doc["signed"]}};
}

}  // namespace

TEST_CASE("hisgate release builds signs and verifies releases and refuses what is wrong", "[release-cli]") {
    std::string t = hisgate::test::make_temp_dir("release-cli");
    std::string keys = t + "/keys", releases = t + "/releases";
    fs::create_directories(keys);

    auto root = release({"keygen", "--out", keys + "/root"});
    REQUIRE(root.status == 0);
    CHECK(root.output.size() == 17);  // 16 hex digits and a newline
    CHECK((fs::status(keys + "/root.key").permissions() & fs::perms::group_read) == fs::perms::none);
    REQUIRE(release({"keygen", "--out", keys + "/signing"}).status == 0);
    auto certified = release({"certify", "--root", keys + "/root.key", "--key", keys + "/signing.pub", "--name", "ci",
                              "--days", "30", "--out", keys + "/signing.cert.json"});
    REQUIRE(certified.status == 0);
    CHECK(certified.output.find("certified") != std::string::npos);

    for (const char* v : {"1.0.0", "1.0.1", "1.1.0"}) {
        agent_tree(t + "/tree-" + v, v);
        auto built = release({"build", "--version", v, "--from", t + "/tree-" + v, "--previous", releases, "--out",
                              releases + "/" + v, "--protocol", "1-2", "--level", "3"});
        INFO(built.output);
        REQUIRE(built.status == 0);
    }
    std::string manifest = releases + "/1.1.0/manifest.json";
    auto m = nlohmann::json::parse(hisgate::test::read_file(manifest));
    REQUIRE(m["signed"]["packages"].size() == 3);  // full, from 1.0.1, from 1.0.0
    CHECK(fs::exists(releases + "/1.1.0/params-catalog.json"));
    // The same catalog in every build here: the notes say so.
    CHECK(m["signed"]["notes"].get<std::string>().find("Parameter changes since 1.0.1 (hisgate params diff): none") == 0);

    // Unsigned: refused.
    auto unsigned_run = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub"});
    CHECK(unsigned_run.status == 1);
    CHECK(unsigned_run.output.find("release.unsigned") != std::string::npos);

    auto sign = release({"sign", "--manifest", manifest, "--key", keys + "/signing.key", "--cert",
                         keys + "/signing.cert.json", "--root", keys + "/root.pub"});
    INFO(sign.output);
    REQUIRE(sign.status == 0);
    auto ok = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--packages"});
    INFO(ok.output);
    REQUIRE(ok.status == 0);
    CHECK(ok.output.find("ok: release 1.1.0") != std::string::npos);
    CHECK(ok.output.find("every delta applied") != std::string::npos);

    SECTION("another root") {
        REQUIRE(release({"keygen", "--out", keys + "/other"}).status == 0);
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/other.pub"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.key_not_certified") != std::string::npos);
    }
    SECTION("a tampered manifest") {
        auto doc = nlohmann::json::parse(hisgate::test::read_file(manifest));
        doc["signed"]["protocol"]["max"] = 9;
        hisgate::test::write_file(manifest, doc.dump());
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.bad_signature") != std::string::npos);
    }
    SECTION("verified after the key's period") {
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--at", "2099-01-01T00:00:00Z"});
        CHECK(r.status == 0);  // signed inside its period
        auto early = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--at", "2020-01-01T00:00:00Z"});
        CHECK(early.status == 1);
        CHECK(early.output.find("release.signed_in_future") != std::string::npos);
    }
    SECTION("an expired signing key cannot sign") {
        REQUIRE(release({"certify", "--root", keys + "/root.key", "--key", keys + "/signing.pub", "--name", "old",
                         "--not-before", "2020-01-01T00:00:00Z", "--not-after", "2021-01-01T00:00:00Z", "--out",
                         keys + "/old.cert.json"})
                    .status == 0);
        auto r = release({"sign", "--manifest", manifest, "--key", keys + "/signing.key", "--cert", keys + "/old.cert.json",
                          "--root", keys + "/root.pub"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.key_expired") != std::string::npos);
    }
    SECTION("a revoked signing key") {
        std::string key_id = release({"keygen", "--out", keys + "/unused"}).output;  // a list naming another key first
        key_id.pop_back();
        std::string list = keys + "/revocations.json";
        REQUIRE(release({"revoke", "--root", keys + "/root.key", "--key-id", key_id, "--reason", "unused", "--list", list}).status == 0);
        CHECK(release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--revocations", list}).status == 0);
        auto cert = nlohmann::json::parse(hisgate::test::read_file(keys + "/signing.cert.json"));
        auto revoked = release({"revoke", "--root", keys + "/root.key", "--key-id", cert["signed"]["key_id"], "--reason",
                                "leaked", "--list", list});
        REQUIRE(revoked.status == 0);
        CHECK(revoked.output.find("revocation list 2") != std::string::npos);
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--revocations", list});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.key_revoked") != std::string::npos);
        CHECK(r.output.find("leaked") != std::string::npos);
    }
    SECTION("a package with other bytes") {
        std::string path = releases + "/1.1.0/hisgate-1.1.0-from-1.0.1.delta.zst";
        std::string bytes = hisgate::test::read_file(path);
        bytes[bytes.size() / 2] ^= 0x55;
        hisgate::test::write_file(path, bytes);
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--packages"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.checksum_mismatch") != std::string::npos);
        CHECK(r.output.find("from-1.0.1") != std::string::npos);
    }
    SECTION("a truncated package") {
        std::string path = releases + "/1.1.0/hisgate-1.1.0.full.zst";
        std::string bytes = hisgate::test::read_file(path);
        hisgate::test::write_file(path, bytes.substr(0, bytes.size() / 2));
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--packages"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.truncated") != std::string::npos);
    }
    SECTION("a delta whose base is another build of the same version") {
        // 1.0.1 rebuilt from other files: its own manifest and package agree, but 1.1.0's
        // delta from 1.0.1 was made from the first build.
        std::string other = t + "/tree-1.0.1-other";
        agent_tree(other, "1.0.1-other");
        auto rebuilt = release({"build", "--version", "1.0.1", "--from", other, "--out", releases + "/1.0.1", "--level", "3"});
        REQUIRE(rebuilt.status == 0);
        auto r = release({"verify", "--manifest", manifest, "--root", keys + "/root.pub", "--packages"});
        CHECK(r.status == 1);
        CHECK(r.output.find("release.delta_base_mismatch") != std::string::npos);
        CHECK(r.output.find("1.0.1") != std::string::npos);
    }
    SECTION("publish into a repository") {
        std::string repo = t + "/repo";
        auto bad = nlohmann::json::parse(hisgate::test::read_file(manifest));
        // A tampered copy of the release is refused, and nothing of it is visible.
        std::string tampered = t + "/tampered/1.1.0";
        fs::create_directories(tampered);
        fs::copy(releases + "/1.1.0", tampered, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
        bad["signed"]["notes"] = "changed after signing";
        hisgate::test::write_file(tampered + "/manifest.json", bad.dump());
        auto refused = release({"publish", "--repo", repo, "--root", keys + "/root.pub", "--previous", releases, tampered});
        CHECK(refused.status == 1);
        CHECK(refused.output.find("release.bad_signature") != std::string::npos);
        CHECK(!fs::exists(repo + "/1.1.0"));

        auto published = release({"publish", "--repo", repo, "--root", keys + "/root.pub", releases + "/1.1.0/"});
        INFO(published.output);
        REQUIRE(published.status == 0);
        CHECK(published.output.find("published: 1.1.0 (3 package(s))") == 0);
        for (const char* f : {"manifest.json", "params-catalog.json", "hisgate-1.1.0.full.zst",
                              "hisgate-1.1.0-from-1.0.1.delta.zst", "hisgate-1.1.0-from-1.0.0.delta.zst"})
            CHECK(hisgate::test::read_file(repo + "/1.1.0/" + f) == hisgate::test::read_file(releases + "/1.1.0/" + f));
        for (const auto& e : fs::directory_iterator(repo)) CHECK(e.path().filename() == "1.1.0");  // no temporary left

        // The same release again: a no-op.
        auto again = release({"publish", "--repo", repo, "--root", keys + "/root.pub", releases + "/1.1.0"});
        CHECK(again.status == 0);
        CHECK(again.output.find("already published: 1.1.0") == 0);

        // The same version with other notes, properly signed, is refused: a published
        // version never changes.
        std::string before = hisgate::test::read_file(repo + "/1.1.0/manifest.json");
        auto doc = unsigned_body(nlohmann::json::parse(before));
        doc["signed"]["notes"] = "other notes";
        hisgate::test::write_file(manifest, doc.dump());
        REQUIRE(release({"sign", "--manifest", manifest, "--key", keys + "/signing.key", "--cert",
                         keys + "/signing.cert.json", "--root", keys + "/root.pub"})
                    .status == 0);
        auto changed = release({"publish", "--repo", repo, "--root", keys + "/root.pub", releases + "/1.1.0"});
        CHECK(changed.status == 1);
        CHECK(changed.output.find("release.already_published") != std::string::npos);
        CHECK(hisgate::test::read_file(repo + "/1.1.0/manifest.json") == before);

        CHECK(release({"publish", "--repo", repo, "--root", keys + "/root.pub"}).status == 2);
    }
    SECTION("bad arguments") {
        CHECK(release({"build", "--version", "1.x", "--from", t, "--out", t + "/x"}).status == 2);
        CHECK(release({"verify", "--manifest", manifest}).status == 2);
        CHECK(release({"frobnicate"}).status == 2);
    }
}
