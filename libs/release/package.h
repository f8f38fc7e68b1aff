// A release's content and its packages.
//
// Content: the agent's files as one archive in a format of our own, "HGPKG1" (described in
// docs/releases.md): a magic line, then per file a header line "<mode> <size> <path>\n"
// (mode 644 or 755) and its bytes, then "END <count>\n". Files are sorted by path and carry
// no time stamps or owners, so one tree always yields the same bytes and two builds that
// differ in a version stamp differ in a few bytes: what makes deltas small.
//
// Packages: the full package is the content compressed as one zstd frame; a delta is one
// zstd frame of the content compressed with a base release's content as its prefix
// (ZSTD_CCtx_refPrefix, long-distance matching, a window that spans base and content: the
// approach of `zstd --patch-from`). A delta applies only to the base it was made from; its
// base's hash is checked before it is applied (release.delta_base_mismatch).
//
// Bounded: content at most kMaxContentBytes, at most kMaxEntries files, paths at most
// kMaxPathLength bytes, relative, without "..", "." or empty components, NUL, backslash or
// newline (release.bad_path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::release {

inline constexpr std::size_t kMaxContentBytes = 512ull * 1024 * 1024;
// A package file: zstd's bound for the largest content (incompressible data grows a little).
inline constexpr std::size_t kMaxPackageBytes = kMaxContentBytes + (kMaxContentBytes >> 7) + (1 << 20);
inline constexpr std::size_t kMaxEntries = 10000;
inline constexpr std::size_t kMaxPathLength = 255;
// Deltas reach back over base + content: 2 * 512 MiB fits a 2^30 window.
inline constexpr int kMaxWindowLog = 30;
inline constexpr int kDefaultLevel = 19;

struct Entry {
    std::string path;  // relative, '/'-separated
    bool executable = false;
    std::string data;
};

// release.bad_path naming the path and what is wrong with it.
Result<void> check_entry_path(std::string_view path);

// The archive of `entries` (sorted here; duplicate or bad paths refused).
Result<std::string> pack(std::vector<Entry> entries);
// Every file of an archive: release.truncated when it ends early, release.bad_archive when
// it is malformed, release.bad_path for a path that could escape the install directory.
Result<std::vector<Entry>> unpack(std::string_view archive);

// Every regular file under `dir` (symbolic links and other special files are refused:
// a package holds files only).
Result<std::vector<Entry>> read_tree(const std::string& dir);
// Writes entries under `dir` (created), never outside it (paths are checked again).
Result<void> write_tree(const std::vector<Entry>& entries, const std::string& dir);

Result<std::string> compress_full(std::string_view content, int level = kDefaultLevel);
Result<std::string> make_delta(std::string_view base, std::string_view content, int level = kDefaultLevel);
// The content a full package holds; `expected_size` (from the manifest) bounds it and must
// match the frame's. release.truncated for a cut frame, release.bad_package otherwise.
Result<std::string> decompress_full(std::string_view package, uint64_t expected_size);
// The content a delta makes from `base`. The caller checks the base's hash first.
Result<std::string> apply_delta(std::string_view delta, std::string_view base, uint64_t expected_size);

// Reads a whole file of at most `max_bytes` (release.io / release.too_large).
Result<std::string> read_file_bounded(const std::string& path, uint64_t max_bytes);
Result<void> write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace hisgate::release
