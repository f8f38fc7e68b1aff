// Signed releases in-process (libs/release): what verifies, and every refusal by its code:
// a bad signature, a tampered manifest, a key the root did not certify, an expired or
// not-yet-valid key, a revoked key, a checksum mismatch, a truncated package, a delta for
// another base, a path that would leave the install directory. Times are fixed instants
// (no clock is read).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/digest.h"
#include "release/manifest.h"
#include "release/package.h"
#include "release/release_dir.h"
#include "release/repository.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::release;
using json = nlohmann::json;

namespace {

WallTime at(const char* iso) { return parse_time(iso, "test").value(); }

Ed25519Key new_key() { return Ed25519Key::generate().value(); }

KeyCertificate cert_for(const Ed25519Key& key, const char* from, const char* to, const char* name = "release-2026") {
    KeyCertificate c;
    c.key_id = key.key_id();
    c.public_hex = key.public_hex();
    c.name = name;
    c.not_before = at(from);
    c.not_after = at(to);
    c.issued_at = at(from);
    return c;
}

struct Keys {
    Ed25519Key root = new_key();
    Ed25519Key signer = new_key();
    json cert = certify_key(root, cert_for(signer, "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")).value();
};

Manifest sample_manifest() {
    Manifest m;
    m.version = parse_version("1.4.2").value();
    m.protocol_min = 1;
    m.protocol_max = 2;
    m.catalog_version = "1.4.2";
    m.catalog_sha256 = sha256_hex("catalog");
    m.content_sha256 = sha256_hex("content");
    m.content_size = 7;
    m.packages.push_back({PackageEntry::Kind::Full, "hisgate-1.4.2.full.zst", sha256_hex("full"), 100, std::nullopt, ""});
    m.packages.push_back({PackageEntry::Kind::Delta, "hisgate-1.4.2-from-1.4.1.delta.zst", sha256_hex("delta"), 10,
                          parse_version("1.4.1").value(), sha256_hex("base")});
    return m;
}

// A signed manifest file's text, signed by `keys.signer` at `when`.
std::string signed_text(const Keys& keys, const char* when = "2026-06-01T00:00:00Z") {
    return sign_manifest(sample_manifest(), keys.signer, keys.cert, keys.root, at(when)).value().dump();
}

// Signs `body` as the manifest's signer would, skipping sign_manifest's own checks: what a
// forger or a misbehaving build could produce.
std::string hand_signed(const json& body, const Ed25519Key& by, const json& cert) {
    json doc = sign_document(body, by).value();
    doc["certificate"] = cert;
    return doc.dump();
}

std::string refusal(const std::string& text, const Keys& keys, const RevocationList* revoked = nullptr,
                    const char* now = "2026-06-02T00:00:00Z") {
    auto v = verify_manifest(text, keys.root, revoked, at(now));
    REQUIRE_FALSE(v.ok());
    return v.error().code;
}

}  // namespace

TEST_CASE("release versions parse and order as semantic versions", "[release]") {
    CHECK(parse_version("1.2.3")->to_string() == "1.2.3");
    CHECK(parse_version("1.2.3-rc.1")->to_string() == "1.2.3-rc.1");
    CHECK(*parse_version("1.2.10") > *parse_version("1.2.9"));
    CHECK(*parse_version("1.3.0") > *parse_version("1.2.99"));
    CHECK(*parse_version("1.2.3") > *parse_version("1.2.3-rc.9"));
    CHECK(*parse_version("1.2.3-rc.10") > *parse_version("1.2.3-rc.9"));
    CHECK(*parse_version("1.2.3-beta") > *parse_version("1.2.3-alpha.1"));
    CHECK(*parse_version("1.2.3-alpha.beta") > *parse_version("1.2.3-alpha.1"));
    CHECK(*parse_version("1.2.3-rc.1") == *parse_version("1.2.3-rc.1"));
    for (const char* bad : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3+meta", "1.2.x", "1.2.3-a..b",
                            "1234567.0.0", "1.2.3-a b"}) {
        INFO(bad);
        auto v = parse_version(bad);
        REQUIRE_FALSE(v.ok());
        CHECK(v.error().code == "release.bad_version");
    }
    CHECK(parse_version(std::string(100, '1')).error().message.find("longer than 64") != std::string::npos);
}

TEST_CASE("Ed25519 keys sign and verify and survive PEM", "[release]") {
    Ed25519Key key = new_key();
    auto sig = key.sign_hex("message").value();
    CHECK(sig.size() == 128);
    CHECK(key.verify_hex("message", sig));
    CHECK_FALSE(key.verify_hex("messagf", sig));
    CHECK_FALSE(key.verify_hex("message", "zz"));

    auto priv = Ed25519Key::from_pem(key.private_pem()).value();
    auto pub = Ed25519Key::from_pem(key.public_pem()).value();
    auto raw = Ed25519Key::from_public_hex(key.public_hex()).value();
    CHECK(priv.has_private());
    CHECK_FALSE(pub.has_private());
    CHECK(pub.key_id() == key.key_id());
    CHECK(raw.key_id() == key.key_id());
    CHECK(pub.verify_hex("message", priv.sign_hex("message").value()));
    CHECK(pub.sign_hex("x").error().code == "release.key_invalid");
    CHECK_FALSE(new_key().verify_hex("message", sig));
    CHECK(Ed25519Key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").error().code ==
          "release.key_invalid");
}

TEST_CASE("a manifest signed by a certified key verifies against the pinned root", "[release]") {
    Keys keys;
    auto v = verify_manifest(signed_text(keys), keys.root, nullptr, at("2026-06-02T00:00:00Z"));
    REQUIRE(v.ok());
    CHECK(v->manifest.version.to_string() == "1.4.2");
    CHECK(v->manifest.packages.size() == 2);
    CHECK(v->manifest.delta_from(parse_version("1.4.1").value()) != nullptr);
    CHECK(v->signer.key_id == keys.signer.key_id());
    CHECK(format_time(*v->manifest.signed_at) == "2026-06-01T00:00:00Z");
    // Verified after the signing key expired: it signed within its period.
    CHECK(verify_manifest(signed_text(keys), keys.root, nullptr, at("2027-06-01T00:00:00Z")).ok());
}

TEST_CASE("a bad signature is refused", "[release]") {
    Keys keys;
    json doc = json::parse(signed_text(keys));
    std::string sig = doc["signature"]["ed25519"];
    sig[10] = sig[10] == '0' ? '1' : '0';
    doc["signature"]["ed25519"] = sig;
    CHECK(refusal(doc.dump(), keys) == "release.bad_signature");
}

TEST_CASE("a tampered manifest is refused", "[release]") {
    Keys keys;
    json doc = json::parse(signed_text(keys));
    doc["signed"]["packages"][0]["sha256"] = sha256_hex("something else");
    CHECK(refusal(doc.dump(), keys) == "release.bad_signature");
    doc = json::parse(signed_text(keys));
    doc["signed"]["version"] = "9.9.9";
    CHECK(refusal(doc.dump(), keys) == "release.bad_signature");
    doc = json::parse(signed_text(keys));
    doc.erase("signature");
    CHECK(refusal(doc.dump(), keys) == "release.unsigned");
}

TEST_CASE("a key the pinned root did not certify is refused", "[release]") {
    Keys keys;
    // Certified by another root.
    Ed25519Key other_root = new_key();
    json foreign = certify_key(other_root, cert_for(keys.signer, "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")).value();
    json body = sample_manifest().to_json();
    body["signed_at"] = "2026-06-01T00:00:00Z";
    auto v = verify_manifest(hand_signed(body, keys.signer, foreign), keys.root, nullptr, at("2026-06-02T00:00:00Z"));
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == "release.key_not_certified");
    CHECK(v.error().message.find(keys.root.key_id()) != std::string::npos);
    // Signed by a key of its own, carrying a genuine certificate of another key.
    Ed25519Key rogue = new_key();
    v = verify_manifest(hand_signed(body, rogue, keys.cert), keys.root, nullptr, at("2026-06-02T00:00:00Z"));
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == "release.key_not_certified");
    CHECK(v.error().message.find(rogue.key_id()) != std::string::npos);
    // A certificate whose content was altered after the root signed it.
    json altered = keys.cert;
    altered["signed"]["not_after"] = "2099-01-01T00:00:00Z";
    CHECK(refusal(hand_signed(body, keys.signer, altered), keys) == "release.key_not_certified");
    // sign_manifest itself refuses a key that is not the certified one.
    CHECK(sign_manifest(sample_manifest(), rogue, keys.cert, keys.root, at("2026-06-01T00:00:00Z")).error().code ==
          "release.key_not_certified");
}

TEST_CASE("a key outside its validity period is refused", "[release]") {
    Keys keys;
    // The signer refuses to sign with an expired key.
    auto late = sign_manifest(sample_manifest(), keys.signer, keys.cert, keys.root, at("2027-01-02T00:00:00Z"));
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().code == "release.key_expired");
    CHECK(late.error().message.find("2026-12-31T00:00:00Z") != std::string::npos);
    // A manifest that says it was signed after the key's period, or before it.
    json body = sample_manifest().to_json();
    body["signed_at"] = "2027-01-02T00:00:00Z";
    CHECK(refusal(hand_signed(body, keys.signer, keys.cert), keys, nullptr, "2027-01-03T00:00:00Z") ==
          "release.key_expired");
    body["signed_at"] = "2025-12-01T00:00:00Z";
    CHECK(refusal(hand_signed(body, keys.signer, keys.cert), keys) == "release.key_not_yet_valid");
    // Signed in the future of the verifier's clock.
    body["signed_at"] = "2026-08-01T00:00:00Z";
    CHECK(refusal(hand_signed(body, keys.signer, keys.cert), keys) == "release.signed_in_future");
}

TEST_CASE("a new signing key certified by the root is accepted when the old one expired", "[release]") {
    Keys keys;
    Ed25519Key next = new_key();
    json next_cert = certify_key(keys.root, cert_for(next, "2026-12-01T00:00:00Z", "2027-12-31T00:00:00Z", "release-2027")).value();
    auto signed_doc = sign_manifest(sample_manifest(), next, next_cert, keys.root, at("2027-03-01T00:00:00Z")).value();
    auto v = verify_manifest(signed_doc.dump(), keys.root, nullptr, at("2027-03-02T00:00:00Z"));
    REQUIRE(v.ok());
    CHECK(v->signer.name == "release-2027");
}

TEST_CASE("a revoked signing key is refused", "[release]") {
    Keys keys;
    RevocationList list;
    list.serial = 3;
    list.issued_at = at("2026-07-01T00:00:00Z");
    list.revoked.push_back({keys.signer.key_id(), "laptop stolen", at("2026-07-01T00:00:00Z")});
    json signed_list = sign_revocation_list(keys.root, list).value();
    auto verified_list = verify_revocation_list(signed_list, keys.root).value();
    CHECK(verified_list.serial == 3);
    auto v = verify_manifest(signed_text(keys), keys.root, &verified_list, at("2026-07-02T00:00:00Z"));
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == "release.key_revoked");
    CHECK(v.error().message.find("laptop stolen") != std::string::npos);
    // A revocation list the root did not sign is not believed.
    json forged = sign_revocation_list(new_key(), list).value();
    CHECK(verify_revocation_list(forged, keys.root).error().code == "release.revocations_invalid");
    signed_list["signed"]["revoked"] = json::array();
    CHECK(verify_revocation_list(signed_list, keys.root).error().code == "release.revocations_invalid");
}

TEST_CASE("a manifest beyond its bounds or malformed is refused before anything else", "[release]") {
    Keys keys;
    CHECK(refusal(std::string(kMaxDocumentBytes + 1, ' '), keys) == "release.manifest.too_large");
    CHECK(refusal(std::string(100, '[') + std::string(100, ']'), keys) == "release.manifest.too_deep");
    CHECK(refusal("{not json", keys) == "release.manifest.invalid");
    // Signed, but without a full package.
    json body = sample_manifest().to_json();
    body["signed_at"] = "2026-06-01T00:00:00Z";
    body["packages"].erase(0);
    CHECK(refusal(hand_signed(body, keys.signer, keys.cert), keys) == "release.manifest_invalid");
}

TEST_CASE("a package path that could leave the install directory is refused", "[release]") {
    for (const char* bad : {"../etc/passwd", "/etc/passwd", "bin/../../x", "a//b", "./a", "a\\..\\b", ""}) {
        INFO(bad);
        CHECK(check_entry_path(bad).error().code == "release.bad_path");
    }
    CHECK(check_entry_path("bin/hisgate-agent").ok());
    // In a signed manifest.
    Keys keys;
    json body = sample_manifest().to_json();
    body["signed_at"] = "2026-06-01T00:00:00Z";
    body["packages"][1]["path"] = "../../usr/bin/hisgate-agent";
    CHECK(refusal(hand_signed(body, keys.signer, keys.cert), keys) == "release.bad_path");
    // In an archive: pack refuses it, and a hand-made archive holding it does not unpack.
    CHECK(pack({{"../evil", false, "x"}}).error().code == "release.bad_path");
    CHECK(unpack("HGPKG1\n644 1 ../evil\nxEND 1\n").error().code == "release.bad_path");
    CHECK(unpack("HGPKG1\n644 1 /etc/evil\nxEND 1\n").error().code == "release.bad_path");
}

TEST_CASE("archives round-trip and refuse what is malformed or cut short", "[release]") {
    std::vector<Entry> files = {{"bin/hisgate-agent", true, "ELF...binary"}, {"etc/agent.json", false, "{}"}, {"empty", false, ""}};
    std::string archive = pack(files).value();
    CHECK(pack({files[1], files[0], files[2]}).value() == archive);  // order does not matter
    auto back = unpack(archive).value();
    REQUIRE(back.size() == 3);
    CHECK(back[0].path == "bin/hisgate-agent");
    CHECK(back[0].executable);
    CHECK(back[0].data == "ELF...binary");
    CHECK_FALSE(back[1].executable);
    for (size_t cut : {size_t{3}, size_t{10}, size_t{30}, archive.size() - 1}) {
        INFO(cut);
        CHECK(unpack(archive.substr(0, cut)).error().code == "release.truncated");
    }
    CHECK(pack({files[0], files[0]}).error().code == "release.bad_archive");
    CHECK(unpack("HGPKG1\n600 1 a\nxEND 1\n").error().code == "release.bad_archive");
    CHECK(unpack("HGPKG1\n644 1 b\nx644 1 a\nyEND 2\n").error().code == "release.bad_archive");
    CHECK(unpack(archive + "junk").error().code == "release.bad_archive");
}

TEST_CASE("full packages and deltas round-trip and a delta refuses another base", "[release]") {
    std::string base, next;
    for (int i = 0; i < 20000; ++i) base += "line " + std::to_string(i * 7919 % 10007) + " of the agent\n";
    next = base;
    next.replace(next.find("line 42 "), 8, "line 43 ");
    std::string other_base = base;
    other_base.replace(other_base.find("line 100 "), 9, "line 101 ");

    std::string full = compress_full(next).value();
    CHECK(decompress_full(full, next.size()).value() == next);
    std::string delta = make_delta(base, next).value();
    CHECK(delta.size() * 10 < full.size());
    CHECK(apply_delta(delta, base, next.size()).value() == next);

    Manifest m;
    m.version = parse_version("1.0.1").value();
    m.content_sha256 = sha256_hex(next);
    m.content_size = next.size();
    PackageEntry d{PackageEntry::Kind::Delta, "d.zst", sha256_hex(delta), delta.size(), parse_version("1.0.0").value(),
                   sha256_hex(base)};
    CHECK(content_from_delta(m, d, delta, base).value() == next);
    auto wrong = content_from_delta(m, d, delta, other_base);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == "release.delta_base_mismatch");
    CHECK(wrong.error().message.find("1.0.0") != std::string::npos);

    // Truncated frames, and a frame whose content is not the manifest's size.
    CHECK(decompress_full(full.substr(0, full.size() / 2), next.size()).error().code == "release.truncated");
    CHECK(apply_delta(delta.substr(0, delta.size() - 3), base, next.size()).error().code == "release.truncated");
    CHECK(decompress_full(full, next.size() + 1).error().code == "release.size_mismatch");
    CHECK(decompress_full("not zstd at all", 3).error().code == "release.bad_package");
}

TEST_CASE("a package whose bytes differ from the manifest is refused", "[release]") {
    std::string bytes = compress_full("content of the release").value();
    PackageEntry e{PackageEntry::Kind::Full, "p.zst", sha256_hex(bytes), bytes.size(), std::nullopt, ""};
    CHECK(check_package_bytes(e, bytes).ok());
    std::string flipped = bytes;
    flipped[flipped.size() / 2] ^= 1;
    auto r = check_package_bytes(e, flipped);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "release.checksum_mismatch");
    CHECK(r.error().message.find(e.sha256) != std::string::npos);
    CHECK(check_package_bytes(e, bytes.substr(0, bytes.size() - 1)).error().code == "release.truncated");
    CHECK(check_package_bytes(e, bytes + "x").error().code == "release.size_mismatch");
}

TEST_CASE("build_release makes deltas from the five newest older releases and verify_packages checks them", "[release]") {
    namespace fs = std::filesystem;
    std::string root = test::make_temp_dir("release-build");
    std::string releases = root + "/releases";
    auto build = [&](const std::string& v) {
        std::string tree = root + "/tree-" + v;
        std::string binary;
        for (int i = 0; i < 5000; ++i) binary += "code block " + std::to_string(i) + "\n";
        binary += "version " + v + "\n";
        fs::create_directories(tree + "/bin");
        fs::create_directories(tree + "/share");
        test::write_file(tree + "/bin/hisgate-agent", binary);
        test::write_file(tree + "/share/README", "agent " + v);
        BuildOptions o;
        o.version = parse_version(v).value();
        o.from_dir = tree;
        o.previous_dir = releases;
        o.out_dir = releases + "/" + v;
        o.catalog_version = v;
        o.catalog_sha256 = sha256_hex("catalog");
        o.level = 3;
        return build_release(o);
    };
    for (const char* v : {"1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1", "1.2.0"}) {
        auto built = build(v);
        INFO(v << ": " << (built.ok() ? "" : built.error().describe()));
        REQUIRE(built.ok());
    }
    auto m = build("1.3.0");
    REQUIRE(m.ok());
    REQUIRE(m->packages.size() == 6);  // full + five deltas, not six
    CHECK(m->delta_from(parse_version("1.0.0").value()) == nullptr);
    CHECK(m->delta_from(parse_version("1.0.1").value()) != nullptr);
    std::string dir = releases + "/1.3.0";
    REQUIRE(verify_packages(*m, dir, releases).ok());

    // Content unpacks to the tree.
    auto full = read_package(dir, *m->full()).value();
    auto files = unpack(content_from_full(*m, full).value()).value();
    REQUIRE(files.size() == 2);
    CHECK(files[0].path == "bin/hisgate-agent");

    // A base release whose content changed underneath: its delta no longer applies.
    const PackageEntry* d = m->delta_from(parse_version("1.2.0").value());
    std::string base_dir = releases + "/1.2.0";
    std::string saved = test::read_file(base_dir + "/hisgate-1.2.0.full.zst");
    std::string other = compress_full(pack({{"bin/hisgate-agent", true, "another build"}}).value(), 3).value();
    test::write_file(base_dir + "/hisgate-1.2.0.full.zst", other);
    auto r = verify_packages(*m, dir, releases);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "release.truncated");  // shorter than its manifest says
    test::write_file(base_dir + "/hisgate-1.2.0.full.zst", saved);

    // A truncated delta.
    std::string delta_path = dir + "/" + d->path;
    std::string delta = test::read_file(delta_path);
    test::write_file(delta_path, delta.substr(0, delta.size() - 5));
    CHECK(verify_packages(*m, dir, releases).error().code == "release.truncated");
    test::write_file(delta_path, delta);
    CHECK(verify_packages(*m, dir, releases).ok());
}

TEST_CASE("copy_synced keeps the source's mode and (as root) its owner", "[release]") {
    // The updater (root) backs up and restores the agent's state file, which is the agent
    // user's and mode 0600: a copy open to all, or root's, would leak it or lock the agent out.
    std::string dir = test::make_temp_dir("copy-synced");
    test::write_file(dir + "/agent.db", "queue");
    REQUIRE(::chmod((dir + "/agent.db").c_str(), 0600) == 0);
    bool root = ::geteuid() == 0;
    if (root) REQUIRE(::chown((dir + "/agent.db").c_str(), 4242, 4343) == 0);
    REQUIRE(copy_synced(dir + "/agent.db", dir + "/backup.db"));
    struct stat st{};
    REQUIRE(::stat((dir + "/backup.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    if (root) {
        CHECK(st.st_uid == 4242);
        CHECK(st.st_gid == 4343);
    }
    CHECK(test::read_file(dir + "/backup.db") == "queue");
    CHECK_FALSE(copy_synced(dir + "/agent.db", dir + "/backup.db"));  // never over an existing file
}
