#include "controlplane/release_api.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/http_server.h"
#include "controlplane/api_error.h"
#include "release/release_dir.h"
#include "release/repository.h"
#include "release/signed_document.h"

namespace hisgate::controlplane {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// At most 19 digits: every such number fits in uint64_t.
std::optional<uint64_t> parse_number(const std::string& s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}


json summary(const release::Manifest& m) {
    json packages = json::array();
    for (const auto& p : m.packages) {
        json one = {{"kind", p.kind == release::PackageEntry::Kind::Full ? "full" : "delta"},
                    {"name", p.path},
                    {"size", p.size},
                    {"sha256", p.sha256}};
        if (p.base_version) one["baseVersion"] = p.base_version->to_string();
        packages.push_back(std::move(one));
    }
    return {{"version", m.version.to_string()},
            {"signedAt", m.signed_at ? release::format_time(*m.signed_at) : ""},
            {"protocol", {{"min", m.protocol_min}, {"max", m.protocol_max}}},
            {"content", {{"size", m.content_size}, {"sha256", m.content_sha256}}},
            {"packages", std::move(packages)}};
}

}  // namespace

ByteRange resolve_range(const std::string& header, uint64_t size) {
    ByteRange whole;
    const std::string prefix = "bytes=";
    if (header.rfind(prefix, 0) != 0) return whole;
    std::string spec = header.substr(prefix.size());
    size_t dash = spec.find('-');
    if (dash == std::string::npos || spec.find(',') != std::string::npos) return whole;
    std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
    ByteRange unsatisfiable{ByteRange::Kind::Unsatisfiable};
    if (a.empty()) {  // the last n bytes
        auto n = parse_number(b);
        if (!n) return whole;
        if (*n == 0 || size == 0) return unsatisfiable;
        return {ByteRange::Kind::Part, size - std::min(*n, size), size - 1};
    }
    auto first = parse_number(a);
    if (!first) return whole;
    std::optional<uint64_t> last;
    if (!b.empty()) {
        last = parse_number(b);
        if (!last || *last < *first) return whole;
    }
    if (*first >= size) return unsatisfiable;
    return {ByteRange::Kind::Part, *first, last ? std::min(*last, size - 1) : size - 1};
}

const std::vector<RouteTemplate>& ReleaseApi::routes() {
    static const std::vector<RouteTemplate> table = {
        {"releases_list", "/api/v1/releases", "GET, HEAD"},
        {"releases_manifest", "/api/v1/releases/{version}/manifest", "GET, HEAD"},
        {"releases_package", "/api/v1/releases/{version}/packages/{name}", "GET, HEAD"},
    };
    return table;
}

std::optional<ReleaseApi::Route> ReleaseApi::route_of(const std::vector<std::string>& parts) {
    return match_route(routes(), parts);
}

void ReleaseApi::handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                        Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (who.role == auth::Role::Patient)
        return send_error_json(res, 403, make_error(ErrorClass::Rejected, "auth.forbidden", "releases are for operators and services"));
    if (route == "releases_list") return list(res);
    if (route == "releases_manifest") return manifest(parts[3], res);
    package(parts[3], parts[5], req, res);
}

void ReleaseApi::list(Poco::Net::HTTPServerResponse& res) {
    json releases = json::array();
    for (const auto& r : release::list_published(repo_dir_)) releases.push_back(summary(r.manifest));
    send_json(res, 200, {{"releases", std::move(releases)}});
}

void ReleaseApi::manifest(const std::string& version, Poco::Net::HTTPServerResponse& res) {
    auto found = release::find_published(repo_dir_, version);
    if (!found) return send_api_error(res, found.error());
    auto text = release::read_file_bounded((fs::path(found->dir) / release::kManifestFile).string(), release::kMaxDocumentBytes);
    if (!text) return send_api_error(res, text.error());
    send_text(res, 200, "application/json", *text);
}

void ReleaseApi::package(const std::string& version, const std::string& name, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& res) {
    auto found = release::find_published(repo_dir_, version);
    if (!found) return send_api_error(res, found.error());
    auto entry = release::find_package(*found, name);
    if (!entry) return send_api_error(res, entry.error());
    // The manifest's path was checked when it was verified (no "..", no absolute path);
    // the name is that path, never the client's text.
    const std::string file = (fs::path(found->dir) / entry->path).string();
    std::ifstream in(file, std::ios::binary);
    std::error_code ec;
    uint64_t size = fs::file_size(file, ec);
    if (!in || ec)
        return send_api_error(res, make_error(ErrorClass::Internal, "release.io", "a published package is unreadable"));
    const std::string etag = "\"" + entry->sha256 + "\"";
    res.set("ETag", etag);
    res.set("Accept-Ranges", "bytes");
    ByteRange range;
    if (req.has("Range") && (!req.has("If-Range") || req.get("If-Range") == etag))
        range = resolve_range(req.get("Range"), size);
    if (range.kind == ByteRange::Kind::Unsatisfiable) {
        res.set("Content-Range", "bytes */" + std::to_string(size));
        return send_error_json(res, 416, make_error(ErrorClass::BadInput, "release.range_not_satisfiable",
                                                    "the range starts past the package's " + std::to_string(size) + " bytes"));
    }
    uint64_t first = 0, count = size;
    if (range.kind == ByteRange::Kind::Part) {
        first = range.first;
        count = range.last - range.first + 1;
        res.setStatus(Poco::Net::HTTPResponse::HTTP_PARTIAL_CONTENT);
        res.set("Content-Range",
                "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size));
    } else {
        res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    }
    res.setContentType("application/octet-stream");
    res.setContentLength64(static_cast<Poco::Int64>(count));
    std::ostream& out = res.send();
    if (req.getMethod() == "HEAD") return;
    in.seekg(static_cast<std::streamoff>(first));
    std::unique_ptr<char[]> buf(new char[1 << 16]);
    while (count > 0 && out) {
        auto want = static_cast<std::streamsize>(std::min<uint64_t>(count, 1 << 16));
        in.read(buf.get(), want);
        std::streamsize got = in.gcount();
        if (got <= 0) break;  // the file shrank under us: the client sees a short body
        out.write(buf.get(), got);
        count -= static_cast<uint64_t>(got);
    }
}

}  // namespace hisgate::controlplane
