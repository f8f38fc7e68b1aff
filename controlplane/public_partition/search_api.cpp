#include "controlplane/public_partition/search_api.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "common/http_server.h"
#include "common/log.h"
#include "common/query_params.h"

namespace hisgate::controlplane::public_partition {

namespace {
// The longest query string read: a cursor (at most 2 KiB) and every filter at its bound.
constexpr size_t kMaxQueryBytes = 4096;
constexpr const char* kAllow = "GET, HEAD";
}  // namespace

bool is_search_path(std::string_view path) { return path.starts_with(kSearchPathPrefix); }

Result<SearchRequest> read_search_request(const std::string& method, const std::string& uri, std::string_view today) {
    std::string path, raw_query;
    try {
        Poco::URI parsed(uri);
        path = parsed.getPath();
        raw_query = parsed.getRawQuery();
    } catch (const Poco::Exception&) {
        return make_error(ErrorClass::BadInput, "http.bad_uri", "the request target is not a valid URI (bad percent-encoding)");
    }
    // The route first, then the method, as the control plane's API answers (404 before 405).
    std::optional<SearchKind> kind;
    if (is_search_path(path)) kind = search_kind(std::string_view(path).substr(std::string_view(kSearchPathPrefix).size()));
    if (!kind)
        return make_error(ErrorClass::NotFound, "search.unknown_kind",
                          "no such search: " + path + " (hospitals, departments, doctors or slots under " +
                              kSearchPathPrefix + ")");
    if (method != "GET" && method != "HEAD")
        return make_error(ErrorClass::BadInput, "http.method_not_allowed",
                          method + " is not served on " + path + " (allowed: " + kAllow + ")");
    auto params = read_query(raw_query, kSearchBadParam, kMaxQueryBytes, search_params(*kind));
    if (!params) return params.error();
    return parse_search(*kind, *params, today);
}

int search_status(const Error& e) {
    if (e.code == "http.method_not_allowed") return 405;
    switch (e.cls) {
        case ErrorClass::BadInput: return 400;
        case ErrorClass::NotFound: return 404;
        default: return 500;  // SQLite's, or a caller's bug: nothing the client can change
    }
}

void answer_search_error(Poco::Net::HTTPServerResponse& res, const Error& e) {
    if (e.code == "http.method_not_allowed") res.set("Allow", kAllow);
    send_error_json(res, search_status(e), e);
}

void answer_search(Poco::Net::HTTPServerResponse& res, sql::Db& db, const SearchRequest& r,
                   const nlohmann::json& freshness) {
    auto page = run_search(db, r);
    if (!page) {
        log::warn("search.failed", {{"kind", search_kind_name(r.kind)}, {"error", page.error().describe()}});
        return answer_search_error(res, page.error());
    }
    page->emplace("freshness", freshness);
    send_json(res, 200, *page);
}

void serve_search(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res, sql::Db& db,
                  const nlohmann::json& freshness, std::string_view today) {
    auto r = read_search_request(req.getMethod(), req.getURI(), today);
    if (!r) return answer_search_error(res, r.error());
    answer_search(res, db, *r, freshness);
}

}  // namespace hisgate::controlplane::public_partition
