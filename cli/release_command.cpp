// `hisgate release keygen|certify|revoke|build|sign|verify`: signed releases (libs/release,
// docs/releases.md).
//
//   keygen --out PREFIX          a new Ed25519 key: PREFIX.key (private, mode 0600) and
//                                PREFIX.pub; prints its key id
//   certify --root ROOT.key --key SIGNING.pub --name NAME [--not-before T]
//           [--not-after T | --days N] --out CERT.json
//                                the root certifies a release-signing key for a period
//   revoke --root ROOT.key --key-id ID --reason TEXT --list REVOCATIONS.json
//                                adds a key to the root's revocation list (serial + 1)
//   build --version V --from DIR --out DIR [--previous DIR] [--protocol MIN-MAX]
//         [--level N] [--notes TEXT] [--catalog FILE]
//                                the full package and a delta from each of the five newest
//                                older releases under --previous; an unsigned manifest whose
//                                notes end with `params diff` against the newest older one.
//                                The catalog shipped is this build's, or --catalog's (the
//                                agent's in --from when another build made it)
//   sign --manifest FILE --key SIGNING.key --cert CERT.json --root ROOT.pub
//   verify --manifest FILE --root ROOT.pub [--revocations FILE] [--packages]
//          [--previous DIR] [--at T]
//                                exit 0 "ok: ...", or 1 with the refusal's code and why
//   publish --repo DIR --root ROOT.pub [--revocations FILE] [--previous DIR] RELEASE-DIR
//                                verifies the release as `verify --packages` does and copies
//                                it into the control plane's repository atomically
//                                (release/repository.h); the same version again with other
//                                content is refused (release.already_published)
// Times are UTC, 2026-12-06T01:00:00Z. Bad arguments exit 2 with the usage; a refusal or a
// failure exits 1 with "hisgate release: <code>: <message>".
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "common/digest.h"
#include "common/version.h"
#include "config-params/catalog.h"
#include "config-params/catalog_diff.h"
#include "release/manifest.h"
#include "release/package.h"
#include "release/release_dir.h"
#include "release/repository.h"

namespace hisgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace hisgate::release;
using json = nlohmann::json;

const char* kReleaseUsage = R"(usage: hisgate release keygen --out PREFIX
       hisgate release certify --root ROOT.key --key SIGNING.pub --name NAME [--not-before T] [--not-after T | --days N] --out CERT.json
       hisgate release revoke --root ROOT.key --key-id ID --reason TEXT --list REVOCATIONS.json
       hisgate release build --version V --from DIR --out DIR [--previous DIR] [--protocol MIN-MAX] [--level N] [--notes TEXT]
                             [--catalog FILE]
       hisgate release sign --manifest FILE --key SIGNING.key --cert CERT.json --root ROOT.pub
       hisgate release verify --manifest FILE --root ROOT.pub [--revocations FILE] [--packages] [--previous DIR] [--at T]
       hisgate release publish --repo DIR --root ROOT.pub [--revocations FILE] [--previous DIR] RELEASE-DIR
times are UTC: 2026-12-06T01:00:00Z
)";

using Options = std::map<std::string, std::string>;

int release_usage(const std::string& why = "") {
    if (!why.empty()) std::cerr << "hisgate release: " << why << "\n";
    std::cerr << kReleaseUsage;
    return 2;
}

int fail(const Error& e) {
    std::cerr << "hisgate release: " << e.describe() << "\n";
    return 1;
}

// --name value pairs after the subcommand, and the flags in `flags` alone.
std::optional<Options> release_options(const Args& args, const std::set<std::string>& flags = {}) {
    Options out;
    for (size_t i = 1; i < args.size(); ++i) {
        if (args[i].rfind("--", 0) != 0) return std::nullopt;
        std::string name = args[i].substr(2);
        if (flags.count(name)) {
            out[name] = "true";
        } else {
            if (i + 1 >= args.size()) return std::nullopt;
            out[name] = args[++i];
        }
    }
    return out;
}

std::optional<std::string> missing(const Options& o, std::initializer_list<const char*> required) {
    for (const char* name : required)
        if (!o.count(name)) return std::string("--") + name + " is required";
    return std::nullopt;
}

Result<json> load_json(const std::string& path, const std::string& what) {
    auto text = read_file_bounded(path, kMaxDocumentBytes);
    if (!text) return text.error();
    return parse_document(*text, what + " " + path, "release.document");
}

// The release notes' parameter section: `hisgate params diff` of the newest older release's
// catalog (saved beside its manifest) against this build's, within the manifest's bound on
// notes. Empty when there is no older release with a saved catalog.
std::string params_changes(const std::string& previous_dir, const ReleaseVersion& version, const params::Catalog& now) {
    for (const auto& prev : scan_releases(previous_dir)) {
        if (!(prev.manifest.version < version)) continue;
        auto before = params::Catalog::load(prev.dir + "/params-catalog.json");
        if (!before) return "";
        auto changes = params::diff(*before, now);
        std::string text = "Parameter changes since " + prev.manifest.version.to_string() + " (hisgate params diff):";
        if (changes.empty()) text += " none";
        size_t shown = 0;
        for (const auto& c : changes) {
            if (text.size() + c.line().size() > 60 * 1024) break;
            text += "\n  " + c.line();
            ++shown;
        }
        if (shown < changes.size()) text += "\n  ... and " + std::to_string(changes.size() - shown) + " more";
        return text;
    }
    return "";
}

WallTime now_seconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

int keygen(const Options& o) {
    if (auto why = missing(o, {"out"})) return release_usage(*why);
    auto key = Ed25519Key::generate();
    if (!key) return fail(key.error());
    std::string prefix = o.at("out");
    // The private key is written owner-only from its first byte.
    mode_t old = umask(077);
    auto wrote = write_file_atomic(prefix + ".key", key->private_pem());
    umask(old);
    if (!wrote) return fail(wrote.error());
    if (auto ok = write_file_atomic(prefix + ".pub", key->public_pem()); !ok) return fail(ok.error());
    std::cout << key->key_id() << "\n";
    return 0;
}

int certify(const Options& o) {
    if (auto why = missing(o, {"root", "key", "name", "out"})) return release_usage(*why);
    auto root = Ed25519Key::load_file(o.at("root"));
    if (!root) return fail(root.error());
    auto key = Ed25519Key::load_file(o.at("key"));
    if (!key) return fail(key.error());
    KeyCertificate c;
    c.key_id = key->key_id();
    c.public_hex = key->public_hex();
    c.name = o.at("name");
    c.issued_at = now_seconds();
    c.not_before = c.issued_at;
    if (o.count("not-before")) {
        auto t = parse_time(o.at("not-before"), "--not-before");
        if (!t) return release_usage(t.error().message);
        c.not_before = *t;
    }
    if (o.count("not-after")) {
        auto t = parse_time(o.at("not-after"), "--not-after");
        if (!t) return release_usage(t.error().message);
        c.not_after = *t;
    } else {
        int days = 365;
        if (o.count("days")) {
            try {
                days = std::stoi(o.at("days"));
            } catch (...) {
                days = 0;
            }
            if (days <= 0 || days > 3650) return release_usage("--days: 1 to 3650");
        }
        c.not_after = c.not_before + std::chrono::days(days);
    }
    auto cert = certify_key(*root, c);
    if (!cert) return fail(cert.error());
    if (auto ok = write_file_atomic(o.at("out"), cert->dump(2) + "\n"); !ok) return fail(ok.error());
    std::cout << "certified " << c.key_id << " (" << c.name << ") from " << format_time(c.not_before) << " to "
              << format_time(c.not_after) << " by root " << root->key_id() << "\n";
    return 0;
}

int revoke(const Options& o) {
    if (auto why = missing(o, {"root", "key-id", "reason", "list"})) return release_usage(*why);
    auto root = Ed25519Key::load_file(o.at("root"));
    if (!root) return fail(root.error());
    RevocationList list;
    if (fs::exists(o.at("list"))) {
        auto doc = load_json(o.at("list"), "the revocation list");
        if (!doc) return fail(doc.error());
        auto existing = verify_revocation_list(*doc, *root);
        if (!existing) return fail(existing.error());
        list = *existing;
    }
    list.serial += 1;
    list.issued_at = now_seconds();
    if (!list.find(o.at("key-id"))) list.revoked.push_back({o.at("key-id"), o.at("reason"), list.issued_at});
    auto signed_list = sign_revocation_list(*root, list);
    if (!signed_list) return fail(signed_list.error());
    if (auto ok = write_file_atomic(o.at("list"), signed_list->dump(2) + "\n"); !ok) return fail(ok.error());
    std::cout << "revocation list " << list.serial << ": " << list.revoked.size() << " revoked key(s)\n";
    return 0;
}

int build(const Options& o) {
    if (auto why = missing(o, {"version", "from", "out"})) return release_usage(*why);
    auto version = parse_version(o.at("version"));
    if (!version) return release_usage(version.error().message);
    BuildOptions b;
    b.version = *version;
    b.from_dir = o.at("from");
    b.out_dir = o.at("out");
    b.previous_dir = o.count("previous") ? o.at("previous") : "";
    b.notes = o.count("notes") ? o.at("notes") : "";
    if (o.count("protocol")) {
        int lo = 0, hi = 0;
        char dash = 0, tail = 0;
        if (std::sscanf(o.at("protocol").c_str(), "%d%c%d%c", &lo, &dash, &hi, &tail) != 3 || dash != '-' || lo < 1 ||
            hi < lo)
            return release_usage("--protocol: MIN-MAX, such as 1-2");
        b.protocol_min = lo;
        b.protocol_max = hi;
    }
    if (o.count("level")) {
        b.level = std::atoi(o.at("level").c_str());
        if (b.level < 1 || b.level > 22) return release_usage("--level: 1 to 22");
    }
    // The parameter catalog the release ships: its hash in the manifest, the merged catalog
    // beside it, so `hisgate params diff` can compare two releases' catalogs. By default this
    // program's own (the agent of the same build has the same); --catalog names the agent's
    // (`hisgate params list --json` of the build in --from) when another build made it.
    std::optional<Result<params::Catalog>> given;
    if (o.count("catalog")) given = params::Catalog::load(o.at("catalog"));
    const auto& catalog = given ? *given : params::Catalog::builtin();
    if (!catalog) return fail(catalog.error());
    std::string catalog_text = catalog->to_json().dump(2) + "\n";
    b.catalog_version = std::string(hisgate::version());
    b.catalog_sha256 = sha256_hex(catalog_text);
    if (std::string changes = params_changes(b.previous_dir, b.version, *catalog); !changes.empty()) {
        if (b.notes.size() > 2 * 1024) return release_usage("--notes: at most 2 KiB");
        b.notes += (b.notes.empty() ? "" : "\n\n") + changes;
    }
    auto m = build_release(b);
    if (!m) return fail(m.error());
    if (auto ok = write_file_atomic(b.out_dir + "/params-catalog.json", catalog_text); !ok) return fail(ok.error());
    std::cout << "built " << m->version.to_string() << ": content " << m->content_size << " bytes\n";
    if (!m->notes.empty()) std::cout << m->notes << "\n";
    for (const auto& p : m->packages) {
        std::cout << "  " << p.path << "  " << p.size << " bytes";
        if (p.kind == PackageEntry::Kind::Delta) {
            char pct[32];
            std::snprintf(pct, sizeof pct, "%.2f", 100.0 * static_cast<double>(p.size) / static_cast<double>(m->full()->size));
            std::cout << "  (" << pct << "% of full)";
        }
        std::cout << "\n";
    }
    return 0;
}

int sign(const Options& o) {
    if (auto why = missing(o, {"manifest", "key", "cert", "root"})) return release_usage(*why);
    auto text = read_file_bounded(o.at("manifest"), kMaxDocumentBytes);
    if (!text) return fail(text.error());
    auto m = read_unverified_manifest(*text);
    if (!m) return fail(m.error());
    auto key = Ed25519Key::load_file(o.at("key"));
    if (!key) return fail(key.error());
    auto root = Ed25519Key::load_file(o.at("root"));
    if (!root) return fail(root.error());
    auto cert = load_json(o.at("cert"), "the certificate");
    if (!cert) return fail(cert.error());
    auto envelope = sign_manifest(*m, *key, *cert, *root, now_seconds());
    if (!envelope) return fail(envelope.error());
    if (auto ok = write_file_atomic(o.at("manifest"), envelope->dump(2) + "\n"); !ok) return fail(ok.error());
    std::cout << "signed " << m->version.to_string() << " with key " << key->key_id() << "\n";
    return 0;
}

// The root's revocation list named by --revocations, checked against the root; none without it.
Result<std::optional<RevocationList>> load_revocations(const Options& o, const Ed25519Key& root) {
    if (!o.count("revocations")) return std::optional<RevocationList>{};
    auto doc = load_json(o.at("revocations"), "the revocation list");
    if (!doc) return doc.error();
    auto list = verify_revocation_list(*doc, root);
    if (!list) return list.error();
    return std::optional<RevocationList>{*list};
}

int verify(const Options& o) {
    if (auto why = missing(o, {"manifest", "root"})) return release_usage(*why);
    auto root = Ed25519Key::load_file(o.at("root"));
    if (!root) return fail(root.error());
    WallTime at = now_seconds();
    if (o.count("at")) {
        auto t = parse_time(o.at("at"), "--at");
        if (!t) return release_usage(t.error().message);
        at = *t;
    }
    auto revocations = load_revocations(o, *root);
    if (!revocations) return fail(revocations.error());
    auto text = read_file_bounded(o.at("manifest"), kMaxDocumentBytes);
    if (!text) return fail(text.error());
    auto verified = verify_manifest(*text, *root, *revocations ? &**revocations : nullptr, at);
    if (!verified) return fail(verified.error());
    const Manifest& m = verified->manifest;
    if (o.count("packages")) {
        fs::path release_dir = fs::absolute(o.at("manifest")).parent_path();
        std::string previous = o.count("previous") ? o.at("previous") : release_dir.parent_path().string();
        if (auto ok = verify_packages(m, release_dir.string(), previous); !ok) return fail(ok.error());
    }
    std::cout << "ok: release " << m.version.to_string() << " signed at " << format_time(*m.signed_at) << " by key "
              << verified->signer.key_id << " (" << verified->signer.name << "); " << m.packages.size() << " package(s)"
              << (o.count("packages") ? ", every package checked and every delta applied to its base" : "") << "\n";
    return 0;
}

int publish(const Options& o, const std::string& release_dir) {
    if (auto why = missing(o, {"repo", "root"})) return release_usage(*why);
    auto root = Ed25519Key::load_file(o.at("root"));
    if (!root) return fail(root.error());
    auto revocations = load_revocations(o, *root);
    if (!revocations) return fail(revocations.error());
    PublishRequest r;
    r.release_dir = release_dir;
    fs::path dir = fs::absolute(release_dir).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();  // "releases/1.1.0/"
    r.previous_dir = o.count("previous") ? o.at("previous") : dir.parent_path().string();
    r.repo_dir = o.at("repo");
    r.root = &*root;
    r.revocations = *revocations ? &**revocations : nullptr;
    r.now = now_seconds();
    auto published = publish_release(r);
    if (!published) return fail(published.error());
    const Manifest& m = published->manifest;
    std::cout << (published->already_published ? "already published: " : "published: ") << m.version.to_string()
              << " (" << m.packages.size() << " package(s)) in " << r.repo_dir << "\n";
    return 0;
}

}  // namespace

int release_main(const Args& args) {
    if (args.empty()) return release_usage();
    if (args[0] == "publish") {  // the release directory is the last, positional, argument
        if (args.size() < 2 || args.back().rfind("--", 0) == 0) return release_usage("publish: the release directory is required");
        Args rest(args.begin(), args.end() - 1);
        auto o = release_options(rest);
        if (!o) return release_usage("expected --name value pairs");
        return publish(*o, args.back());
    }
    auto o = release_options(args, {"packages"});
    if (!o) return release_usage("expected --name value pairs");
    const std::string& sub = args[0];
    if (sub == "keygen") return keygen(*o);
    if (sub == "certify") return certify(*o);
    if (sub == "revoke") return revoke(*o);
    if (sub == "build") return build(*o);
    if (sub == "sign") return sign(*o);
    if (sub == "verify") return verify(*o);
    return release_usage("unknown subcommand " + sub);
}

}  // namespace hisgate::cli
