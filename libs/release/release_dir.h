// Releases on disk: a release directory holds manifest.json and its packages,
//   hisgate-<V>.full.zst               the full package
//   hisgate-<V>-from-<B>.delta.zst     a delta from version B
// and a directory of releases (one subdirectory per version) is where `release build`
// finds the previous versions it makes deltas from.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "release/manifest.h"
#include "release/package.h"

namespace hisgate::release {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr int kDeltaVersions = 5;  // deltas from each of the five previous versions

struct BuildOptions {
    ReleaseVersion version;
    std::string from_dir;      // the files of the release (the agent's install tree)
    std::string previous_dir;  // releases to make deltas from; may be empty
    std::string out_dir;       // created
    int protocol_min = 1;
    int protocol_max = 1;
    std::string catalog_version;
    std::string catalog_sha256;
    std::string notes;
    int level = kDefaultLevel;
    int max_deltas = kDeltaVersions;
};

// Writes the packages and an unsigned manifest.json into out_dir; returns the manifest.
Result<Manifest> build_release(const BuildOptions& options);

struct ReleaseOnDisk {
    Manifest manifest;  // read without checking signatures
    std::string dir;
};
// Every subdirectory of `dir` holding a readable manifest.json, newest version first.
std::vector<ReleaseOnDisk> scan_releases(const std::string& dir);

// A package file's bytes against its entry: release.truncated (shorter than the manifest
// says), release.size_mismatch (longer), release.checksum_mismatch (other bytes).
Result<void> check_package_bytes(const PackageEntry& entry, std::string_view bytes);
// Reads and checks one package of a release directory.
Result<std::string> read_package(const std::string& release_dir, const PackageEntry& entry);
// The release's content from a checked full package (its hash checked too).
Result<std::string> content_from_full(const Manifest& m, std::string_view package);
// The release's content from a delta and the installed base's content. The base's hash is
// checked first: a delta for another base is refused (release.delta_base_mismatch) before
// anything is decompressed; the result's hash after (release.checksum_mismatch).
Result<std::string> content_from_delta(const Manifest& m, const PackageEntry& delta, std::string_view package,
                                       std::string_view base_content);

// Every package of a release directory: bytes, hashes, the full package's archive, and each
// delta applied to its base (found in `previous_dir`, a directory of releases) yielding
// the full package's content. Stops at the first refusal.
Result<void> verify_packages(const Manifest& m, const std::string& release_dir, const std::string& previous_dir);

}  // namespace hisgate::release
