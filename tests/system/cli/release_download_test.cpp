// The release repository end to end with real processes: `hisgate release` builds, signs
// and publishes a release; a real control plane (test::System, no hospitals) serves it over
// HTTPS (http.tls) at /api/v1/releases; the download client (release/download.h) fetches a package,
// aborted part-way and resumed to a matching SHA-256, and refuses wrong bytes by name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "common/digest.h"
#include "controlplane/release_api.h"
#include "release/download.h"
#include "release/repository.h"
#include "tests/support/certificates.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

namespace {

namespace fs = std::filesystem;
using hisgate::test::read_file;
using hisgate::test::write_file;

int release(std::vector<std::string> args) {
    args.insert(args.begin(), {hisgate::test::binary("cli/hisgate"), "release"});
    auto r = hisgate::test::run_capture(args, std::chrono::seconds(60));
    if (r.status != 0) UNSCOPED_INFO(r.output);
    return r.status;
}

// A signed, published release 1.0.0 whose full package is about 16 MiB of content that does
// not compress: more than the server's socket send buffer (at most 4 MiB here) and the
// client's window hold, so a server killed 1 MiB in leaves a middle that never arrives
// (a killed process's kernel still sends what it had queued).
void publish_one(const std::string& t, const std::string& repo) {
    std::string keys = t + "/keys", tree = t + "/tree";
    fs::create_directories(keys);
    fs::create_directories(tree + "/bin");
    std::mt19937_64 rng(16);
    std::string noise(16 << 20, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    write_file(tree + "/bin/hisgate-agent", noise);
    REQUIRE(release({"keygen", "--out", keys + "/root"}) == 0);
    REQUIRE(release({"keygen", "--out", keys + "/signing"}) == 0);
    REQUIRE(release({"certify", "--root", keys + "/root.key", "--key", keys + "/signing.pub", "--name", "ci", "--out",
                     keys + "/signing.cert.json"}) == 0);
    REQUIRE(release({"build", "--version", "1.0.0", "--from", tree, "--out", t + "/releases/1.0.0", "--level", "1"}) == 0);
    REQUIRE(release({"sign", "--manifest", t + "/releases/1.0.0/manifest.json", "--key", keys + "/signing.key", "--cert",
                     keys + "/signing.cert.json", "--root", keys + "/root.pub"}) == 0);
    REQUIRE(release({"publish", "--repo", repo, "--root", keys + "/root.pub", t + "/releases/1.0.0"}) == 0);
}

}  // namespace

TEST_CASE("the control plane serves published releases and the client resumes a package download", "[release-download]") {
    std::string t = hisgate::test::make_temp_dir("release-download");
    std::string repo = t + "/repo";
    publish_one(t, repo);
    auto published = hisgate::release::find_published(repo, "1.0.0");
    REQUIRE(published);
    const auto entry = *published->manifest.full();
    const std::string package_path = "/api/v1/releases/1.0.0/packages/" + entry.path;
    const std::string bytes = read_file(repo + "/1.0.0/" + entry.path);
    REQUIRE(bytes.size() == entry.size);

    // A publish killed half-way leaves a hidden directory: never listed, never served.
    fs::create_directories(repo + "/.publish-1.0.1-99-0");
    fs::copy(repo + "/1.0.0/manifest.json", repo + "/.publish-1.0.1-99-0/manifest.json");

    // Over HTTPS, as a site fetches releases (http.tls; the client checks the test CA).
    REQUIRE(hisgate::test::make_test_certificates(t, "api"));
    const std::string ca = t + "/ca.crt";
    hisgate::test::SystemOptions options;
    options.hospitals = {};
    options.controlplane_config =
        nlohmann::json{{"releases", {{"repo_dir", repo}}},
                       {"http", {{"tls", {{"cert_file", t + "/api.crt"}, {"key_file", t + "/api.key"}}}}}}
            .dump();
    options.api_ca_file = ca;
    hisgate::test::System system(options);
    REQUIRE(system.start());
    auto auth = system.bearer("service", "updater");

    SECTION("listing, manifest, ranges and refusals") {
        auto list = system.get("/api/v1/releases", auth);
        REQUIRE(list.status == 200);
        auto doc = nlohmann::json::parse(list.body);
        REQUIRE(doc["releases"].size() == 1);
        CHECK(doc["releases"][0]["version"] == "1.0.0");
        CHECK(doc["releases"][0]["packages"][0]["sha256"] == entry.sha256);
        auto manifest = system.get("/api/v1/releases/1.0.0/manifest", auth);
        CHECK(manifest.status == 200);
        CHECK(manifest.body == read_file(repo + "/1.0.0/manifest.json"));

        auto whole = system.get(package_path, auth);
        CHECK(whole.status == 200);
        CHECK(whole.body == bytes);
        CHECK(whole.headers["ETag"] == "\"" + entry.sha256 + "\"");
        CHECK(whole.headers["Accept-Ranges"] == "bytes");

        auto headers = auth;
        headers["Range"] = "bytes=100-199";
        auto part = system.get(package_path, headers);
        CHECK(part.status == 206);
        CHECK(part.headers["Content-Range"] == "bytes 100-199/" + std::to_string(entry.size));
        CHECK(part.body == bytes.substr(100, 100));
        headers["Range"] = "bytes=-10";
        part = system.get(package_path, headers);
        CHECK(part.status == 206);
        CHECK(part.body == bytes.substr(bytes.size() - 10));
        headers["Range"] = "bytes=" + std::to_string(entry.size) + "-";
        auto beyond = system.get(package_path, headers);
        CHECK(beyond.status == 416);
        CHECK(beyond.headers["Content-Range"] == "bytes */" + std::to_string(entry.size));
        CHECK(beyond.code() == "release.range_not_satisfiable");
        headers["Range"] = "bytes=100-199";
        headers["If-Range"] = "\"" + std::string(64, '0') + "\"";  // other bytes than ours: the whole file
        auto other = system.get(package_path, headers);
        CHECK(other.status == 200);
        CHECK(other.body.size() == bytes.size());

        // Nothing but the manifest's own package names is reachable.
        for (std::string path : {"/api/v1/releases/1.0.0/packages/..%2Fmanifest.json",
                                 "/api/v1/releases/1.0.0/packages/manifest.json",
                                 "/api/v1/releases/..%2F1.0.0/manifest",
                                 "/api/v1/releases/..%2F..%2Fetc/manifest",
                                 "/api/v1/releases/1.0.0/packages/%2E%2E"}) {
            auto r = system.get(path, auth);
            INFO(path);
            CHECK(r.status == 404);
        }
        CHECK(system.get("/api/v1/releases/9.9.9/manifest", auth).code() == "release.not_found");
        CHECK(system.get("/api/v1/releases/.publish-1.0.1-99-0/manifest", auth).status == 404);
        CHECK(system.get("/api/v1/releases", system.bearer("patient", "P1")).status == 403);
        CHECK(system.get("/api/v1/releases").status == 200);  // an operator
        CHECK(system.get("/api/v1/releases", {{"Authorization", "Bearer nope"}}).status == 401);
    }

    SECTION("a download aborted mid-way resumes to the manifest's hash") {
        hisgate::release::DownloadOptions o;
        o.url = "https://127.0.0.1:" + std::to_string(system.api_port()) + package_path;
        o.ca_file = ca;
        o.dest = t + "/got.zst";
        o.headers = auth;
        o.max_bytes_per_second = 4 << 20;  // the cap, and time for the progress callback to see the middle
        o.progress = [&](uint64_t on_disk) { return on_disk < (1u << 20); };
        auto first = hisgate::release::download_package(entry, o);
        REQUIRE(!first);
        CHECK(first.error().code == "release.download_aborted");
        uint64_t kept = fs::file_size(o.dest + ".part");
        CHECK(kept >= (1u << 20));
        CHECK(kept < entry.size);
        CHECK(!fs::exists(o.dest));

        o.progress = nullptr;
        o.max_bytes_per_second = 0;
        auto second = hisgate::release::download_package(entry, o);
        REQUIRE(second);
        CHECK(second->resumed_from == kept);
        CHECK(second->transferred == entry.size - kept);
        CHECK(hisgate::sha256_hex(read_file(o.dest)) == entry.sha256);
        CHECK(!fs::exists(o.dest + ".part"));
    }

    SECTION("the control plane killed mid-download: the kept prefix resumes after its restart") {
        hisgate::release::DownloadOptions o;
        o.url = "https://127.0.0.1:" + std::to_string(system.api_port()) + package_path;
        o.ca_file = ca;
        o.dest = t + "/killed.zst";
        o.headers = auth;
        o.max_bytes_per_second = 4 << 20;
        bool killed = false;
        o.progress = [&](uint64_t on_disk) {
            if (!killed && on_disk >= (1u << 20)) {
                system.controlplane().kill9();
                killed = true;
            }
            return true;
        };
        auto cut = hisgate::release::download_package(entry, o);
        REQUIRE(killed);
        REQUIRE(!cut);
        CHECK(cut.error().code == "release.download_failed");
        uint64_t kept = fs::file_size(o.dest + ".part");
        CHECK(kept < entry.size);
        CHECK(!fs::exists(o.dest));

        REQUIRE(system.start_controlplane(0));
        o.progress = nullptr;
        auto resumed = hisgate::release::download_package(entry, o);
        INFO((resumed ? "" : resumed.error().describe()));
        REQUIRE(resumed);
        CHECK(resumed->resumed_from == kept);
        CHECK(hisgate::sha256_hex(read_file(o.dest)) == entry.sha256);
    }

    SECTION("wrong bytes are refused by name") {
        hisgate::release::DownloadOptions o;
        o.url = "https://127.0.0.1:" + std::to_string(system.api_port()) + package_path;
        o.ca_file = ca;
        o.dest = t + "/bad.zst";
        o.headers = auth;

        // A prefix on disk that is not the package's: resumed, then refused, and removed.
        std::string wrong = bytes.substr(0, 1000);
        wrong[10] ^= 1;
        write_file(o.dest + ".part", wrong);
        auto spliced = hisgate::release::download_package(entry, o);
        REQUIRE(!spliced);
        CHECK(spliced.error().code == "release.checksum_mismatch");
        CHECK(!fs::exists(o.dest + ".part"));
        CHECK(!fs::exists(o.dest));

        // A manifest that says more bytes than the server has: truncated, kept to resume.
        auto longer = entry;
        longer.size += 10;
        auto cut = hisgate::release::download_package(longer, o);
        REQUIRE(!cut);
        CHECK(cut.error().code == "release.truncated");
        CHECK(fs::file_size(o.dest + ".part") == entry.size);
        fs::remove(o.dest + ".part");

        // Fewer: the extra bytes are refused as they come.
        auto shorter = entry;
        shorter.size -= 10;
        auto over = hisgate::release::download_package(shorter, o);
        REQUIRE(!over);
        CHECK(over.error().code == "release.size_mismatch");
        CHECK(!fs::exists(o.dest + ".part"));

        // No server there: failed, nothing usable.
        o.url = "https://127.0.0.1:" + std::to_string(hisgate::test::free_port()) + package_path;
        auto down = hisgate::release::download_package(entry, o);
        REQUIRE(!down);
        CHECK(down.error().code == "release.download_failed");
        CHECK(!fs::exists(o.dest));
    }
}

TEST_CASE("one byte range is resolved against a file size", "[release-download]") {
    using hisgate::controlplane::ByteRange;
    using hisgate::controlplane::resolve_range;
    auto is = [](const ByteRange& r, ByteRange::Kind kind, uint64_t first = 0, uint64_t last = 0) {
        return r.kind == kind && (kind != ByteRange::Kind::Part || (r.first == first && r.last == last));
    };
    CHECK(is(resolve_range("bytes=0-9", 100), ByteRange::Kind::Part, 0, 9));
    CHECK(is(resolve_range("bytes=90-", 100), ByteRange::Kind::Part, 90, 99));
    CHECK(is(resolve_range("bytes=90-500", 100), ByteRange::Kind::Part, 90, 99));  // clipped to the end
    CHECK(is(resolve_range("bytes=-10", 100), ByteRange::Kind::Part, 90, 99));
    CHECK(is(resolve_range("bytes=-500", 100), ByteRange::Kind::Part, 0, 99));
    CHECK(is(resolve_range("bytes=99-99", 100), ByteRange::Kind::Part, 99, 99));
    // Unsatisfiable: 416.
    CHECK(is(resolve_range("bytes=100-", 100), ByteRange::Kind::Unsatisfiable));
    CHECK(is(resolve_range("bytes=-0", 100), ByteRange::Kind::Unsatisfiable));
    CHECK(is(resolve_range("bytes=0-", 0), ByteRange::Kind::Unsatisfiable));
    // Other shapes are ignored: the whole file.
    for (const char* h : {"", "bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=a-b", "bytes=-", "bytes=1", "bytes= 1-2",
                          "bytes=99999999999999999999-"})
        CHECK(is(resolve_range(h, 100), ByteRange::Kind::Whole));
}
