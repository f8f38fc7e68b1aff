#include "release/repository.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>

#include "common/digest.h"
#include "release/release_dir.h"

namespace hisgate::release {

namespace {

namespace fs = std::filesystem;
constexpr const char* kCatalogFile = "params-catalog.json";
constexpr size_t kBlock = 1 << 16;

Error io_error(const std::string& what) {
    return make_error(ErrorClass::Unavailable, "release.io", what + ": " + std::strerror(errno));
}

// The files a release directory contributes to the repository.
std::vector<std::string> release_files(const Manifest& m, const std::string& release_dir) {
    std::vector<std::string> files = {kManifestFile};
    std::error_code ec;
    if (fs::is_regular_file(fs::path(release_dir) / kCatalogFile, ec)) files.push_back(kCatalogFile);
    for (const auto& p : m.packages) files.push_back(p.path);
    return files;
}

// Whether the published copy holds the same bytes as the release directory, file by file.
Result<bool> same_release(const std::vector<std::string>& files, const std::string& release_dir,
                          const std::string& published_dir) {
    for (const auto& f : files) {
        std::error_code ec;
        auto theirs = fs::path(published_dir) / f;
        if (!fs::is_regular_file(theirs, ec)) return false;
        if (fs::file_size(theirs, ec) != fs::file_size(fs::path(release_dir) / f, ec) || ec) return false;
        auto a = sha256_file((fs::path(release_dir) / f).string());
        if (!a) return a.error();
        auto b = sha256_file(theirs.string());
        if (!b) return b.error();
        if (*a != *b) return false;
    }
    return true;
}

}  // namespace

Result<void> copy_synced(const std::string& from, const std::string& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return io_error("cannot open " + from);
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        auto e = io_error("cannot create " + to);
        ::close(in);
        return e;
    }
    std::unique_ptr<char[]> buf(new char[kBlock]);
    Result<void> result;
    for (;;) {
        ssize_t n = ::read(in, buf.get(), kBlock);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            result = io_error("cannot read " + from);
            break;
        }
        if (n == 0) break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(out, buf.get() + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                result = io_error("cannot write " + to);
                break;
            }
            done += w;
        }
        if (!result) break;
    }
    if (result && ::fsync(out) != 0) result = io_error("cannot fsync " + to);
    ::close(in);
    ::close(out);
    return result;
}

Result<void> fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open " + dir);
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return io_error("cannot fsync " + dir);
    return {};
}


Result<std::string> sha256_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open " + path);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    std::unique_ptr<char[]> buf(new char[kBlock]);
    for (;;) {
        ssize_t n = ::read(fd, buf.get(), kBlock);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            auto e = io_error("cannot read " + path);
            ::close(fd);
            return e;
        }
        if (n == 0) break;
        EVP_DigestUpdate(ctx.get(), buf.get(), static_cast<size_t>(n));
    }
    ::close(fd);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

Result<PublishResult> publish_release(const PublishRequest& r) {
    auto text = read_file_bounded((fs::path(r.release_dir) / kManifestFile).string(), kMaxDocumentBytes);
    if (!text) return text.error();
    auto verified = verify_manifest(*text, *r.root, r.revocations, r.now);
    if (!verified) return verified.error();
    const Manifest& m = verified->manifest;
    if (auto ok = verify_packages(m, r.release_dir, r.previous_dir); !ok) return ok.error();

    std::error_code ec;
    fs::create_directories(r.repo_dir, ec);
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot create " + r.repo_dir + ": " + ec.message());
    const std::string version = m.version.to_string();
    const std::string target = (fs::path(r.repo_dir) / version).string();
    const auto files = release_files(m, r.release_dir);
    auto already = [&]() -> Result<PublishResult> {
        auto same = same_release(files, r.release_dir, target);
        if (!same) return same.error();
        if (!*same)
            return make_error(ErrorClass::Rejected, "release.already_published",
                              "version " + version + " is already published with other content; a published version never changes");
        return PublishResult{m, true};
    };
    if (fs::exists(target, ec)) return already();

    // Copy into a hidden directory of the repository (same file system: the rename is
    // atomic), make it durable, then rename it into place.
    static std::atomic<int> counter{0};
    const std::string tmp = (fs::path(r.repo_dir) / (".publish-" + version + "-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(counter++)))
                                .string();
    fs::create_directory(tmp, ec);
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot create " + tmp + ": " + ec.message());
    auto cleanup = [&] { fs::remove_all(tmp, ec); };
    for (const auto& f : files) {
        if (auto ok = copy_synced((fs::path(r.release_dir) / f).string(), (fs::path(tmp) / f).string()); !ok) {
            cleanup();
            return ok.error();
        }
    }
    if (auto ok = fsync_dir(tmp); !ok) {
        cleanup();
        return ok.error();
    }
    // rename(2) onto a directory that appeared meanwhile (another publish) fails with
    // ENOTEMPTY/EEXIST rather than replacing it; that one is then compared like any other.
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        int err = errno;
        cleanup();
        if (err == ENOTEMPTY || err == EEXIST) return already();
        errno = err;
        return io_error("cannot rename " + tmp + " to " + target);
    }
    if (auto ok = fsync_dir(r.repo_dir); !ok) return ok.error();
    return PublishResult{m, false};
}

std::vector<PublishedRelease> list_published(const std::string& repo_dir) {
    std::vector<PublishedRelease> out;
    std::error_code ec;
    if (repo_dir.empty() || !fs::is_directory(repo_dir, ec)) return out;
    for (const auto& sub : fs::directory_iterator(repo_dir, ec)) {
        auto name = sub.path().filename().string();
        auto v = parse_version(name);
        if (!v || v->to_string() != name) continue;
        auto text = read_file_bounded((sub.path() / kManifestFile).string(), kMaxDocumentBytes);
        if (!text) continue;
        auto m = read_unverified_manifest(*text);
        if (m && m->version.to_string() == name) out.push_back({std::move(*m), sub.path().string()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return b.manifest.version < a.manifest.version; });
    return out;
}

Result<PublishedRelease> find_published(const std::string& repo_dir, const std::string& version_text) {
    auto not_found = make_error(ErrorClass::NotFound, "release.not_found", "no published release " + version_text);
    auto v = parse_version(version_text);
    if (!v || v->to_string() != version_text) return not_found;
    const auto dir = fs::path(repo_dir) / version_text;
    auto text = read_file_bounded((dir / kManifestFile).string(), kMaxDocumentBytes);
    if (!text) return not_found;
    auto m = read_unverified_manifest(*text);
    if (!m || m->version.to_string() != version_text) return not_found;
    return PublishedRelease{std::move(*m), dir.string()};
}

Result<PackageEntry> find_package(const PublishedRelease& release, const std::string& name) {
    for (const auto& p : release.manifest.packages)
        if (p.path == name) return p;
    return make_error(ErrorClass::NotFound, "release.package_not_found",
                      "release " + release.manifest.version.to_string() + " has no package by that name");
}

}  // namespace hisgate::release
