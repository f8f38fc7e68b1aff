#include "controlplane/web/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/http_server.h"

namespace hisgate::controlplane::web {

namespace {
bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The path part of a request target, or "" when it is not one this server reads: only
// A-Z a-z 0-9 and - _ . / : %, no "..", no empty segment beyond the root. Nothing is
// percent-decoded: a screen's path may carry an encoded id (/book/H001/S-1-08%3A00), and a
// file name holding '%' or ':' is simply not found.
std::string safe_path(const std::string& uri) {
    std::string path = uri.substr(0, uri.find_first_of("?#"));
    if (path.empty() || path[0] != '/' || path.size() > StaticFiles::kMaxPathBytes) return "";
    for (char c : path) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.' || c == '/' || c == ':' || c == '%';
        if (!ok) return "";
    }
    if (path.find("..") != std::string::npos || path.find("//") != std::string::npos) return "";
    return path;
}

std::string extension_of(const std::string& name) {
    auto slash = name.rfind('/');
    auto dot = name.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    return name.substr(dot + 1);
}

bool read_file(const std::filesystem::path& p, std::string& out) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) return false;
    auto size = std::filesystem::file_size(p, ec);
    if (ec || size > StaticFiles::kMaxFileBytes) return false;
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return static_cast<bool>(in) || in.eof();
}

bool accepts_gzip(const Poco::Net::HTTPServerRequest& req) {
    return req.get("Accept-Encoding", "").find("gzip") != std::string::npos;
}
}  // namespace

bool StaticFiles::serves(const std::string& uri) {
    for (const char* api : {"/api/", "/fhir/"})
        if (starts_with(uri, api)) return false;
    std::string path = uri.substr(0, uri.find('?'));
    return path != "/api" && path != "/metrics" && path != "/healthz";
}

std::string StaticFiles::content_type(const std::string& name) {
    static const std::pair<const char*, const char*> kTypes[] = {
        {"html", "text/html; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},     {"json", "application/json"},
        {"svg", "image/svg+xml"},               {"png", "image/png"},
        {"ico", "image/x-icon"},                {"woff2", "font/woff2"},
        {"txt", "text/plain; charset=utf-8"},   {"map", "application/json"},
        {"webmanifest", "application/manifest+json"}};
    const std::string ext = extension_of(name);
    for (const auto& [e, type] : kTypes)
        if (ext == e) return type;
    return "application/octet-stream";
}

bool StaticFiles::hashed(const std::string& name) {
    // "index-5PQ2XKJM.js": the part between the last '-' and the first '.' after it.
    auto slash = name.rfind('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    auto dash = base.rfind('-');
    if (dash == std::string::npos) return false;
    auto dot = base.find('.', dash);
    if (dot == std::string::npos || dot - dash - 1 < 8) return false;
    for (size_t i = dash + 1; i < dot; ++i) {
        char c = base[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

void StaticFiles::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) const {
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    // Only the portal's own files run, style and load; no inline script or style, no frame.
    // It reads search from the replicas and pays at the provider, other origins named in
    // its config.json: connect-src allows http(s) origins, not data: or blob:.
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    if (req.getMethod() != "GET" && req.getMethod() != "HEAD") {
        res.set("Allow", "GET, HEAD");
        return send_text(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    std::string path = safe_path(req.getURI());
    if (path.empty()) return send_text(res, 404, "text/plain; charset=utf-8", "not found\n");
    // A screen of the app (/, /bookings, /reports/H001/R-1) is index.html; a file is itself.
    const bool screen = path == "/" || extension_of(path).empty();
    const std::string name = screen ? "/index.html" : path;
    const std::filesystem::path file = std::filesystem::path(dir_) / name.substr(1);
    std::string body;
    bool gzipped = false;
    if (accepts_gzip(req) && read_file(file.string() + ".gz", body)) gzipped = true;
    else if (!read_file(file, body)) return send_text(res, 404, "text/plain; charset=utf-8", "not found\n");
    res.set("Vary", "Accept-Encoding");
    if (gzipped) res.set("Content-Encoding", "gzip");
    if (screen || name == "/index.html") res.set("Cache-Control", "no-store");
    else if (hashed(name)) res.set("Cache-Control", "public, max-age=31536000, immutable");
    else res.set("Cache-Control", "no-cache");
    send_text(res, 200, content_type(name), body);
}

}  // namespace hisgate::controlplane::web
