#include "release/download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "release/repository.h"

namespace hisgate::release {

namespace {

namespace fs = std::filesystem;

// libcurl's global state, once per process (curl_global_init is not thread-safe).
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    CURL* curl = nullptr;
    int fd = -1;
    uint64_t on_disk = 0;      // bytes of .part, as written so far
    uint64_t limit = 0;        // the manifest's size: more is refused
    uint64_t transferred = 0;  // by this call
    bool started = false;      // the first body byte of the final response was seen
    bool too_large = false;
    bool bad_status = false;
    bool aborted = false;
    bool io_failed = false;
    bool restarted = false;  // a 200 to a resume: the kept prefix was dropped
    long status = 0;
    std::string content_range;
    std::string error_body;  // the start of a non-2xx answer, for the message
    const std::function<bool(uint64_t)>* progress = nullptr;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) t->content_range.clear();  // a new response (after a redirect or 100)
    static const char kName[] = "content-range:";
    if (line.size() > sizeof kName && strncasecmp(line.c_str(), kName, sizeof kName - 1) == 0) {
        std::string v = line.substr(sizeof kName - 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
        while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
        t->content_range = v;
    }
    return size * n;
}

// Decides on the first body byte what the answer is: 206 appends at the offset asked for,
// 200 is the whole file (start over), anything else is an error whose body is not stored.
bool first_bytes(Transfer* t) {
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status == 206) {
        unsigned long long first = 0;
        if (std::sscanf(t->content_range.c_str(), "bytes %llu-", &first) != 1 || first != t->on_disk) {
            t->bad_status = true;  // a range we did not ask for
            return false;
        }
        return true;
    }
    if (t->status == 200) {
        if (::ftruncate(t->fd, 0) != 0 || ::lseek(t->fd, 0, SEEK_SET) != 0) {
            t->io_failed = true;
            return false;
        }
        t->restarted = t->on_disk > 0;
        t->on_disk = 0;
        return true;
    }
    t->bad_status = true;
    return true;  // keep reading the error body (bounded) for the message
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    if (!t->started) {
        t->started = true;
        if (!first_bytes(t)) return 0;
    }
    if (t->bad_status) {
        if (t->error_body.size() < 512) t->error_body.append(data, std::min<size_t>(len, 512 - t->error_body.size()));
        return len;
    }
    if (t->on_disk + len > t->limit) {
        t->too_large = true;
        return 0;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = ::write(t->fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            t->io_failed = true;
            return 0;
        }
        done += static_cast<size_t>(w);
    }
    t->on_disk += len;
    t->transferred += len;
    return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->progress && *t->progress && !(*t->progress)(t->on_disk)) {
        t->aborted = true;
        return 1;
    }
    return 0;
}

Error failed(const std::string& url_path, const std::string& why) {
    return make_error(ErrorClass::Unavailable, "release.download_failed", "downloading " + url_path + ": " + why);
}

uint64_t size_of(const std::string& path) {
    std::error_code ec;
    auto s = fs::file_size(path, ec);
    return ec ? 0 : s;
}

}  // namespace

Result<Downloaded> download_package(const PackageEntry& entry, const DownloadOptions& o) {
    init_curl_once();
    const std::string part = o.dest + ".part";
    Downloaded result;
    std::error_code ec;
    uint64_t have = size_of(part);
    if (have > entry.size) {  // no prefix of the package is longer than it
        fs::remove(part, ec);
        have = 0;
    }
    result.resumed_from = have;

    if (have < entry.size) {
        Transfer t;
        t.fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (t.fd < 0)
            return make_error(ErrorClass::Unavailable, "release.io", "cannot open " + part + ": " + std::strerror(errno));
        t.on_disk = have;
        t.limit = entry.size;
        t.progress = &o.progress;
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
        t.curl = curl.get();
        curl_slist* headers = nullptr;
        for (const auto& [k, v] : o.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
        if (have > 0) {
            headers = curl_slist_append(headers, ("Range: bytes=" + std::to_string(have) + "-").c_str());
            headers = curl_slist_append(headers, ("If-Range: \"" + entry.sha256 + "\"").c_str());
        }
        curl_easy_setopt(t.curl, CURLOPT_URL, o.url.c_str());
        curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
        curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
        curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
        if (o.max_bytes_per_second > 0)
            curl_easy_setopt(t.curl, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(o.max_bytes_per_second));
        if (!o.ca_file.empty()) curl_easy_setopt(t.curl, CURLOPT_CAINFO, o.ca_file.c_str());
        CURLcode rc = curl_easy_perform(t.curl);
        curl_slist_free_all(headers);
        if (!t.started) curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
        bool synced = ::fsync(t.fd) == 0;
        ::close(t.fd);
        result.transferred = t.transferred;
        if (t.restarted) result.resumed_from = 0;
        if (t.too_large) {
            fs::remove(part, ec);
            return make_error(ErrorClass::BadInput, "release.size_mismatch",
                              entry.path + ": the server sent more than the manifest's " + std::to_string(entry.size) + " bytes");
        }
        if (t.io_failed || !synced) return make_error(ErrorClass::Unavailable, "release.io", "cannot write " + part);
        if (t.aborted)
            return make_error(ErrorClass::Rejected, "release.download_aborted",
                              entry.path + ": aborted at " + std::to_string(t.on_disk) + " bytes (kept to resume)");
        if (t.bad_status || (t.status != 200 && t.status != 206 && t.status != 0)) {
            if (t.status == 416) fs::remove(part, ec);  // the server's file is not longer than our prefix: other bytes
            std::string why = "HTTP " + std::to_string(t.status);
            if (t.status == 206) why += " with an unexpected Content-Range \"" + t.content_range + "\"";
            if (!t.error_body.empty()) why += ": " + t.error_body;
            return failed(entry.path, why);
        }
        if (rc != CURLE_OK)
            return failed(entry.path, std::string(curl_easy_strerror(rc)) + " at " + std::to_string(t.on_disk) +
                                          " bytes (kept to resume)");
    }

    uint64_t got = size_of(part);
    if (got < entry.size)
        return make_error(ErrorClass::BadInput, "release.truncated",
                          entry.path + " is " + std::to_string(got) + " bytes, the manifest says " +
                              std::to_string(entry.size) + " (kept to resume)");
    auto sha = sha256_file(part);
    if (!sha) return sha.error();
    if (*sha != entry.sha256) {
        fs::remove(part, ec);
        return make_error(ErrorClass::BadInput, "release.checksum_mismatch",
                          entry.path + ": SHA-256 " + *sha + ", the manifest says " + entry.sha256);
    }
    fs::rename(part, o.dest, ec);
    if (ec) return make_error(ErrorClass::Unavailable, "release.io", "cannot rename " + part + ": " + ec.message());
    return result;
}

}  // namespace hisgate::release
