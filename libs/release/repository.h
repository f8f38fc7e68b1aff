// The control plane's release repository (issue 16 item 2): one subdirectory per published
// version, each holding exactly what `hisgate release publish` copied from a verified
// release directory: manifest.json (signed), params-catalog.json when the release has one,
// and every package the manifest lists.
//
// Invariants:
//   - A version directory appears whole or not at all: publishing copies into a hidden
//     temporary directory (".publish-*"), fsyncs every file and the directory, and renames
//     it into place; listings skip any name that is not a version.
//   - A published version never changes: publishing it again with the same manifest and
//     packages is a no-op, with anything else it is refused (release.already_published).
//   - Only verified releases get in: the manifest's signature (against the pinned root and
//     the revocation list) and every package's bytes are checked before anything is copied.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "release/manifest.h"

namespace hisgate::release {

struct PublishRequest {
    std::string release_dir;   // holds manifest.json (signed) and the packages
    std::string previous_dir;  // releases holding the bases of its deltas (verify_packages)
    std::string repo_dir;      // the repository; created when missing
    const Ed25519Key* root = nullptr;
    const RevocationList* revocations = nullptr;
    WallTime now;
};

struct PublishResult {
    Manifest manifest;
    bool already_published = false;  // the same release was there: nothing was written
};

// Errors: every verify_manifest / verify_packages refusal; Rejected
// "release.already_published" (that version is there with other bytes); Unavailable
// "release.io".
Result<PublishResult> publish_release(const PublishRequest& request);

struct PublishedRelease {
    Manifest manifest;  // as verified when it was published
    std::string dir;
};

// The published versions, newest first (directory names that are not versions, such as
// an unfinished publish, are skipped).
std::vector<PublishedRelease> list_published(const std::string& repo_dir);

// One published version by the text a client sent: NotFound "release.not_found" unless it
// is a version (parse_version, written as it prints) published in the repository.
Result<PublishedRelease> find_published(const std::string& repo_dir, const std::string& version_text);

// The entry of one package of a published release by the name a client sent: only the
// manifest's own package paths are names, so nothing else under the repository (another
// directory, "..", a temporary file) can be reached. NotFound "release.package_not_found".
Result<PackageEntry> find_package(const PublishedRelease& release, const std::string& name);

// The SHA-256 of a file, read in blocks (packages can be hundreds of MiB).
Result<std::string> sha256_file(const std::string& path);
// Copies `from` to `to` (a new file: refused if it exists) and fsyncs it before returning
// (release.io). Also the updater's, for the agent's state backup.
Result<void> copy_synced(const std::string& from, const std::string& to);
// fsync of a directory: a rename or a new file in it is durable afterwards (release.io).
Result<void> fsync_dir(const std::string& dir);

}  // namespace hisgate::release
