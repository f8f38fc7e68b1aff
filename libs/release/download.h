// Downloads one package of a release from the control plane's repository
// (controlplane/release_api.h) over HTTP(S) with libcurl, for the updater (issue 16 item 3).
//
// The bytes go to `<dest>.part` and become `<dest>` only once their size and SHA-256 are
// the manifest's: a package is never usable before it is checked. An interrupted transfer
// resumes: the next call asks for "Range: bytes=<size of .part>-" with If-Range set to the
// package's ETag (its SHA-256), so a server holding other bytes answers the whole file and
// the client starts over instead of splicing two files.
//
// What happens to `.part` on each outcome:
//   transfer cut short (network, abort, server gone)  kept: its prefix resumes
//   release.truncated (the server's whole body ended early)  kept
//   release.size_mismatch (more bytes than the manifest says) removed
//   release.checksum_mismatch (other bytes)            removed: no prefix of it is trusted
// The manifest itself is small and fetched whole; verifying it is verify_manifest's job.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/error.h"
#include "release/manifest.h"

namespace hisgate::release {

struct DownloadOptions {
    std::string url;   // the package's URL: <base>/api/v1/releases/<version>/packages/<name>
    std::string dest;  // where the checked package ends up; `<dest>.part` while it downloads
    std::map<std::string, std::string> headers;  // e.g. Authorization
    // Bytes per second at most (CURLOPT_MAX_RECV_SPEED_LARGE); 0: no cap. Sites share thin
    // links with clinical traffic.
    int64_t max_bytes_per_second = 0;
    std::chrono::seconds connect_timeout{10};
    // A transfer slower than 1 byte/s for this long is given up (resumable).
    std::chrono::seconds stall_timeout{60};
    std::string ca_file;  // HTTPS: the CA bundle to trust; empty: the system's
    // Called as bytes arrive with the size of `.part` so far; returning false aborts the
    // transfer (release.download_aborted, `.part` kept). For progress and for tests.
    std::function<bool(uint64_t bytes_on_disk)> progress;
};

struct Downloaded {
    uint64_t resumed_from = 0;   // bytes kept from an earlier call (0 when the server sent the whole file)
    uint64_t transferred = 0;    // bytes received by this call
};

// Errors: Unavailable "release.download_failed" (network, HTTP status; `.part` kept),
// Rejected "release.download_aborted" (progress returned false; kept), BadInput
// "release.truncated" / "release.size_mismatch" / "release.checksum_mismatch" (above),
// Unavailable "release.io".
Result<Downloaded> download_package(const PackageEntry& entry, const DownloadOptions& options);

}  // namespace hisgate::release
