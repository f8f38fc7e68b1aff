#include "release/package.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace hisgate::release {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "HGPKG1\n";

Error bad_archive(const std::string& why) { return make_error(ErrorClass::BadInput, "release.bad_archive", "archive: " + why); }
Error truncated(const std::string& what) {
    return make_error(ErrorClass::BadInput, "release.truncated", what + " ends before its last byte (truncated)");
}
Error zstd_failed(const char* what, size_t code) {
    return make_error(ErrorClass::Internal, "release.zstd_failed", std::string(what) + ": " + ZSTD_getErrorName(code));
}

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

int window_log_for(size_t bytes) {
    int log = 10;
    while (log < kMaxWindowLog && (size_t{1} << log) < bytes) ++log;
    return log;
}

struct CCtx {
    ZSTD_CCtx* p = ZSTD_createCCtx();
    ~CCtx() { ZSTD_freeCCtx(p); }
};
struct DCtx {
    ZSTD_DCtx* p = ZSTD_createDCtx();
    ~DCtx() { ZSTD_freeDCtx(p); }
};

Result<std::string> compress(std::string_view content, std::string_view prefix, int level) {
    if (content.size() > kMaxContentBytes || prefix.size() > kMaxContentBytes)
        return make_error(ErrorClass::BadInput, "release.too_large", "content larger than 512 MiB");
    CCtx c;
    ZSTD_CCtx_setParameter(c.p, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c.p, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(c.p, ZSTD_c_contentSizeFlag, 1);
    if (!prefix.empty()) {
        // As `zstd --patch-from`: the window spans base and content, so the content's
        // matches reach back into the base, and long-distance matching finds them far away.
        ZSTD_CCtx_setParameter(c.p, ZSTD_c_windowLog, window_log_for(prefix.size() + content.size()));
        ZSTD_CCtx_setParameter(c.p, ZSTD_c_enableLongDistanceMatching, 1);
        if (size_t r = ZSTD_CCtx_refPrefix(c.p, prefix.data(), prefix.size()); ZSTD_isError(r))
            return zstd_failed("refPrefix", r);
    }
    std::string out(ZSTD_compressBound(content.size()), '\0');
    size_t n = ZSTD_compress2(c.p, out.data(), out.size(), content.data(), content.size());
    if (ZSTD_isError(n)) return zstd_failed("compress", n);
    out.resize(n);
    return out;
}

Result<std::string> decompress(std::string_view frame, std::string_view prefix, uint64_t expected_size,
                               const std::string& what) {
    if (expected_size > kMaxContentBytes)
        return make_error(ErrorClass::BadInput, "release.too_large", what + ": content larger than 512 MiB");
    size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
    if (ZSTD_isError(frame_size)) {
        if (ZSTD_getErrorCode(frame_size) == ZSTD_error_srcSize_wrong) return truncated(what);
        return make_error(ErrorClass::BadInput, "release.bad_package", what + " is not a zstd frame");
    }
    if (frame_size != frame.size())
        return make_error(ErrorClass::BadInput, "release.bad_package", what + " has bytes after its zstd frame");
    unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (declared != expected_size)
        return make_error(ErrorClass::BadInput, "release.size_mismatch",
                          what + " holds " + std::to_string(declared) + " bytes of content, the manifest says " +
                              std::to_string(expected_size));
    DCtx d;
    ZSTD_DCtx_setParameter(d.p, ZSTD_d_windowLogMax, kMaxWindowLog);
    if (!prefix.empty())
        if (size_t r = ZSTD_DCtx_refPrefix(d.p, prefix.data(), prefix.size()); ZSTD_isError(r))
            return zstd_failed("refPrefix", r);
    std::string out(expected_size, '\0');
    size_t n = ZSTD_decompressDCtx(d.p, out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n))
        return make_error(ErrorClass::BadInput, "release.bad_package",
                          what + " does not decompress: " + ZSTD_getErrorName(n));
    if (n != expected_size) return truncated(what);
    return out;
}

}  // namespace

Result<void> check_entry_path(std::string_view path) {
    auto bad = [&](const std::string& why) {
        return make_error(ErrorClass::BadInput, "release.bad_path",
                          "path '" + std::string(path.substr(0, kMaxPathLength)) + "': " + why);
    };
    if (path.empty()) return bad("empty");
    if (path.size() > kMaxPathLength) return bad("longer than 255 bytes");
    if (path[0] == '/') return bad("absolute paths are not allowed");
    for (char c : path)
        if (c == '\0' || c == '\n' || c == '\r' || c == '\\') return bad("holds NUL, a newline or a backslash");
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty()) return bad("empty component");
        if (part == "..") return bad("'..' would leave the install directory");
        if (part == ".") return bad("'.' component");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return {};
}

Result<std::string> pack(std::vector<Entry> entries) {
    if (entries.size() > kMaxEntries) return bad_archive("more than 10000 files");
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    std::string out(kMagic);
    size_t total = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        if (auto ok = check_entry_path(e.path); !ok) return ok.error();
        if (i > 0 && entries[i - 1].path == e.path) return bad_archive("'" + e.path + "' appears twice");
        total += e.data.size();
        if (total > kMaxContentBytes) return make_error(ErrorClass::BadInput, "release.too_large", "content larger than 512 MiB");
        out += e.executable ? "755 " : "644 ";
        out += std::to_string(e.data.size()) + " " + e.path + "\n";
        out += e.data;
    }
    out += "END " + std::to_string(entries.size()) + "\n";
    return out;
}

Result<std::vector<Entry>> unpack(std::string_view a) {
    if (a.size() > kMaxContentBytes + kMaxEntries * (kMaxPathLength + 32))
        return make_error(ErrorClass::BadInput, "release.too_large", "archive larger than 512 MiB");
    if (a.substr(0, kMagic.size()) != kMagic) {
        if (kMagic.substr(0, a.size()) == a) return truncated("the archive");
        return bad_archive("does not start with HGPKG1");
    }
    a.remove_prefix(kMagic.size());
    std::vector<Entry> out;
    while (true) {
        size_t nl = a.find('\n');
        if (nl == std::string_view::npos) {
            if (a.size() > kMaxPathLength + 32) return bad_archive("a header line is too long");
            return truncated("the archive");
        }
        std::string_view line = a.substr(0, nl);
        a.remove_prefix(nl + 1);
        if (line.substr(0, 4) == "END ") {
            uint64_t count;
            if (!parse_u64(line.substr(4), count) || count != out.size()) return bad_archive("END counts the wrong number of files");
            if (!a.empty()) return bad_archive("bytes after END");
            return out;
        }
        if (out.size() == kMaxEntries) return bad_archive("more than 10000 files");
        size_t sp1 = line.find(' '), sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
        uint64_t size;
        if (sp2 == std::string_view::npos || !parse_u64(line.substr(sp1 + 1, sp2 - sp1 - 1), size))
            return bad_archive("malformed header line");
        std::string_view mode = line.substr(0, sp1);
        if (mode != "644" && mode != "755") return bad_archive("mode must be 644 or 755");
        Entry e;
        e.path = std::string(line.substr(sp2 + 1));
        if (auto ok = check_entry_path(e.path); !ok) return ok.error();
        if (!out.empty() && out.back().path >= e.path) return bad_archive("paths out of order or repeated at '" + e.path + "'");
        if (size > a.size()) return truncated("the archive");
        e.executable = mode == "755";
        e.data = std::string(a.substr(0, size));
        a.remove_prefix(size);
        out.push_back(std::move(e));
    }
}

Result<std::string> read_file_bounded(const std::string& path, uint64_t max_bytes) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) return make_error(ErrorClass::NotFound, "release.io", "cannot read " + path + ": " + ec.message());
    if (size > max_bytes)
        return make_error(ErrorClass::BadInput, "release.too_large",
                          path + " is " + std::to_string(size) + " bytes, more than " + std::to_string(max_bytes));
    std::ifstream in(path, std::ios::binary);
    std::string out(size, '\0');
    if (!in.read(out.data(), static_cast<std::streamsize>(size)))
        return make_error(ErrorClass::Unavailable, "release.io", "cannot read " + path);
    return out;
}

Result<void> write_file_atomic(const std::string& path, std::string_view bytes) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out.flush()) return make_error(ErrorClass::Unavailable, "release.io", "cannot write " + tmp);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot rename " + tmp + ": " + ec.message());
    return {};
}

Result<std::vector<Entry>> read_tree(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return make_error(ErrorClass::NotFound, "release.io", dir + " is not a directory");
    std::vector<Entry> out;
    size_t total = 0;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        auto st = it->symlink_status(ec);
        if (fs::is_directory(st)) continue;
        std::string rel = fs::relative(it->path(), dir, ec).generic_string();
        if (!fs::is_regular_file(st))
            return make_error(ErrorClass::BadInput, "release.bad_path", rel + " is not a regular file (a package holds files only)");
        if (out.size() == kMaxEntries) return bad_archive("more than 10000 files under " + dir);
        auto data = read_file_bounded(it->path().string(), kMaxContentBytes - total);
        if (!data) return data.error();
        total += data->size();
        bool exec = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
        out.push_back({rel, exec, std::move(*data)});
    }
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot list " + dir + ": " + ec.message());
    return out;
}

Result<void> write_tree(const std::vector<Entry>& entries, const std::string& dir) {
    for (const auto& e : entries) {
        if (auto ok = check_entry_path(e.path); !ok) return ok.error();
        fs::path target = fs::path(dir) / e.path;
        std::error_code ec;
        fs::create_directories(target.parent_path(), ec);
        if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot create " + target.parent_path().string());
        if (auto ok = write_file_atomic(target.string(), e.data); !ok) return ok;
        fs::permissions(target, e.executable ? fs::perms(0755) : fs::perms(0644), ec);
    }
    return {};
}

Result<std::string> compress_full(std::string_view content, int level) { return compress(content, {}, level); }

Result<std::string> make_delta(std::string_view base, std::string_view content, int level) {
    if (base.empty()) return make_error(ErrorClass::BadInput, "release.bad_package", "a delta needs a non-empty base");
    return compress(content, base, level);
}

Result<std::string> decompress_full(std::string_view package, uint64_t expected_size) {
    return decompress(package, {}, expected_size, "the full package");
}

Result<std::string> apply_delta(std::string_view delta, std::string_view base, uint64_t expected_size) {
    if (base.empty()) return make_error(ErrorClass::BadInput, "release.bad_package", "a delta needs a non-empty base");
    return decompress(delta, base, expected_size, "the delta");
}

}  // namespace hisgate::release
