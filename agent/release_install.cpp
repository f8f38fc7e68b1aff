#include "agent/release_install.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "release/release_version.h"

namespace hisgate::agent {

namespace {

Error invalid(const std::string& what) {
    return make_error(ErrorClass::BadInput, "request.invalid", "release.install needs " + what);
}

bool accepted_scheme(std::string_view url) {
    for (std::string_view prefix : {"https://", "http://", "file:///"})
        if (url.substr(0, prefix.size()) == prefix) return url.size() > prefix.size();
    return url.size() > 1 && url.front() == '/';
}

// A file name for the request id: the id itself when it is plain, else its characters
// outside [A-Za-z0-9._-] replaced (ids are the control plane's UUIDs in practice).
std::string spool_name(std::string_view id) {
    std::string out;
    for (char ch : id.substr(0, 128))
        out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
    if (out.empty()) out = "request";
    return out + ".json";
}

Error spool_error(const std::string& what, int err) {
    return make_error(ErrorClass::Unavailable, "release.spool_io", what + ": " + std::strerror(err));
}

Result<void> write_durably(const std::string& dir, const std::string& name, const std::string& text) {
    std::string tmp = dir + "/." + name + ".tmp", path = dir + "/" + name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return spool_error("cannot create the request in " + dir, errno);
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return spool_error("cannot write the request in " + dir, err);
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return spool_error("cannot sync the request in " + dir, err);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return spool_error("cannot publish the request in " + dir, err);
    }
    if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        ::fsync(d);
        ::close(d);
    }
    return {};
}

}  // namespace

Result<InstallRequest> read_install_request(const nlohmann::json& body) {
    if (!body.is_object()) return invalid("an object body");
    auto v = body.find("version");
    if (v == body.end() || !v->is_string() || v->get_ref<const std::string&>().empty())
        return invalid("body.version, a non-empty string");
    auto version = release::parse_version(v->get_ref<const std::string&>());
    if (!version) return version.error();
    auto u = body.find("manifest_url");
    if (u == body.end() || !u->is_string() || u->get_ref<const std::string&>().empty())
        return invalid("body.manifest_url, a non-empty string");
    const auto& url = u->get_ref<const std::string&>();
    if (url.size() > kMaxManifestUrlBytes)
        return invalid("body.manifest_url of at most " + std::to_string(kMaxManifestUrlBytes) + " bytes (it has " +
                       std::to_string(url.size()) + ")");
    for (unsigned char ch : url)
        if (ch <= 0x20 || ch >= 0x7f) return invalid("body.manifest_url without spaces, control or non-ASCII characters");
    if (!accepted_scheme(url)) return invalid("body.manifest_url starting with https://, http://, file:/// or /");
    return InstallRequest{version->to_string(), url};
}

Result<nlohmann::json> hand_to_updater(const std::string& spool_dir, std::string_view request_id,
                                       const nlohmann::json& body, const Clock& clock) {
    auto request = read_install_request(body);
    if (!request) return request.error();
    if (spool_dir.empty())
        return make_error(ErrorClass::Rejected, "release.install_unavailable",
                          "this agent has no updater (updater.spool_dir is not configured)");
    auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
    nlohmann::json spooled = {{"version", request->version},
                              {"manifest_url", request->manifest_url},
                              {"request_id", std::string(request_id)},
                              {"requested_at", now}};
    if (auto written = write_durably(spool_dir, spool_name(request_id), spooled.dump() + "\n"); !written)
        return written.error();
    log::info("agent.release_install_handed_over", {{"version", request->version}, {"request_id", std::string(request_id)}});
    return nlohmann::json{{"accepted", true}, {"version", request->version}};
}

}  // namespace hisgate::agent
