#include "release/release_dir.h"

#include <algorithm>
#include <filesystem>

#include "common/digest.h"
#include "release/package.h"

namespace hisgate::release {

namespace fs = std::filesystem;

namespace {

Error checksum_mismatch(const std::string& what, const std::string& expected, const std::string& actual) {
    return make_error(ErrorClass::BadInput, "release.checksum_mismatch",
                      what + ": SHA-256 " + actual + ", the manifest says " + expected);
}

Result<void> write_package(const std::string& dir, PackageEntry& entry, const std::string& bytes) {
    entry.sha256 = sha256_hex(bytes);
    entry.size = bytes.size();
    return write_file_atomic(dir + "/" + entry.path, bytes);
}

}  // namespace

std::vector<ReleaseOnDisk> scan_releases(const std::string& dir) {
    std::vector<ReleaseOnDisk> out;
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) return out;
    for (const auto& sub : fs::directory_iterator(dir, ec)) {
        std::string manifest_path = (sub.path() / kManifestFile).string();
        if (!fs::is_regular_file(manifest_path, ec)) continue;
        auto text = read_file_bounded(manifest_path, kMaxDocumentBytes);
        if (!text) continue;
        auto m = read_unverified_manifest(*text);
        if (m) out.push_back({std::move(*m), sub.path().string()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return b.manifest.version < a.manifest.version; });
    return out;
}

Result<void> check_package_bytes(const PackageEntry& entry, std::string_view bytes) {
    if (bytes.size() < entry.size)
        return make_error(ErrorClass::BadInput, "release.truncated",
                          entry.path + " is " + std::to_string(bytes.size()) + " bytes, the manifest says " +
                              std::to_string(entry.size) + " (truncated)");
    if (bytes.size() != entry.size)
        return make_error(ErrorClass::BadInput, "release.size_mismatch",
                          entry.path + " is " + std::to_string(bytes.size()) + " bytes, the manifest says " +
                              std::to_string(entry.size));
    if (auto actual = sha256_hex(bytes); actual != entry.sha256) return checksum_mismatch(entry.path, entry.sha256, actual);
    return {};
}

Result<std::string> read_package(const std::string& release_dir, const PackageEntry& entry) {
    if (auto ok = check_entry_path(entry.path); !ok) return ok.error();
    // One byte more than the manifest says, so a longer file is told apart from a match.
    auto bytes = read_file_bounded(release_dir + "/" + entry.path, entry.size + 1);
    if (!bytes) {
        if (bytes.error().code == "release.too_large")
            return make_error(ErrorClass::BadInput, "release.size_mismatch",
                              entry.path + " is larger than the manifest's " + std::to_string(entry.size) + " bytes");
        return bytes.error();
    }
    if (auto ok = check_package_bytes(entry, *bytes); !ok) return ok.error();
    return bytes;
}

Result<std::string> content_from_full(const Manifest& m, std::string_view package) {
    auto content = decompress_full(package, m.content_size);
    if (!content) return content;
    if (auto actual = sha256_hex(*content); actual != m.content_sha256)
        return checksum_mismatch("the content of " + m.version.to_string(), m.content_sha256, actual);
    return content;
}

Result<std::string> content_from_delta(const Manifest& m, const PackageEntry& delta, std::string_view package,
                                       std::string_view base_content) {
    std::string base_version = delta.base_version ? delta.base_version->to_string() : "?";
    if (auto actual = sha256_hex(base_content); actual != delta.base_content_sha256)
        return make_error(ErrorClass::BadInput, "release.delta_base_mismatch",
                          delta.path + " applies to " + base_version + " with content SHA-256 " +
                              delta.base_content_sha256 + "; the base given has " + actual);
    auto content = apply_delta(package, base_content, m.content_size);
    if (!content) return content;
    if (auto actual = sha256_hex(*content); actual != m.content_sha256)
        return checksum_mismatch("the content " + delta.path + " makes", m.content_sha256, actual);
    return content;
}

Result<Manifest> build_release(const BuildOptions& o) {
    auto entries = read_tree(o.from_dir);
    if (!entries) return entries.error();
    if (entries->empty()) return make_error(ErrorClass::BadInput, "release.empty", o.from_dir + " holds no files");
    auto content = pack(std::move(*entries));
    if (!content) return content.error();
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot create " + o.out_dir + ": " + ec.message());

    Manifest m;
    m.version = o.version;
    m.protocol_min = o.protocol_min;
    m.protocol_max = o.protocol_max;
    m.catalog_version = o.catalog_version;
    m.catalog_sha256 = o.catalog_sha256;
    m.content_sha256 = sha256_hex(*content);
    m.content_size = content->size();
    m.notes = o.notes;

    std::string v = o.version.to_string();
    PackageEntry full{PackageEntry::Kind::Full, "hisgate-" + v + ".full.zst", "", 0, std::nullopt, ""};
    auto full_bytes = compress_full(*content, o.level);
    if (!full_bytes) return full_bytes.error();
    if (auto ok = write_package(o.out_dir, full, *full_bytes); !ok) return ok.error();
    m.packages.push_back(full);

    int made = 0;
    for (const auto& prev : scan_releases(o.previous_dir)) {
        if (made == o.max_deltas) break;
        if (!(prev.manifest.version < o.version)) continue;  // itself, or newer
        const PackageEntry* base_full = prev.manifest.full();
        auto base_package = read_package(prev.dir, *base_full);
        if (!base_package) return base_package.error();
        auto base = content_from_full(prev.manifest, *base_package);
        if (!base) return base.error();
        std::string b = prev.manifest.version.to_string();
        PackageEntry delta{PackageEntry::Kind::Delta, "hisgate-" + v + "-from-" + b + ".delta.zst", "", 0,
                           prev.manifest.version, prev.manifest.content_sha256};
        auto delta_bytes = make_delta(*base, *content, o.level);
        if (!delta_bytes) return delta_bytes.error();
        if (auto ok = write_package(o.out_dir, delta, *delta_bytes); !ok) return ok.error();
        m.packages.push_back(delta);
        ++made;
    }
    if (auto ok = write_file_atomic(o.out_dir + "/" + kManifestFile, unsigned_manifest(m).dump(2) + "\n"); !ok)
        return ok.error();
    return m;
}

Result<void> verify_packages(const Manifest& m, const std::string& release_dir, const std::string& previous_dir) {
    const PackageEntry* full = m.full();
    auto full_bytes = read_package(release_dir, *full);
    if (!full_bytes) return full_bytes.error();
    auto content = content_from_full(m, *full_bytes);
    if (!content) return content.error();
    if (auto files = unpack(*content); !files) return files.error();
    auto previous = scan_releases(previous_dir);
    for (const auto& p : m.packages) {
        if (p.kind != PackageEntry::Kind::Delta) continue;
        auto bytes = read_package(release_dir, p);
        if (!bytes) return bytes.error();
        auto base = std::find_if(previous.begin(), previous.end(),
                                 [&](const ReleaseOnDisk& r) { return r.manifest.version == *p.base_version; });
        if (base == previous.end())
            return make_error(ErrorClass::NotFound, "release.base_missing",
                              p.path + ": no release " + p.base_version->to_string() + " under " + previous_dir +
                                  " to apply it to");
        auto base_bytes = read_package(base->dir, *base->manifest.full());
        if (!base_bytes) return base_bytes.error();
        auto base_content = content_from_full(base->manifest, *base_bytes);
        if (!base_content) return base_content.error();
        auto made = content_from_delta(m, p, *bytes, *base_content);
        if (!made) return made.error();
    }
    return {};
}

}  // namespace hisgate::release
