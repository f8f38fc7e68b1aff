// The search API a read replica serves (issue 14 item 3; docs/public-partition.md, "Search"):
//
//   GET /api/v1/search/{hospitals|departments|doctors|slots}?q=&limit=&cursor=&min_seq=&...
//       200 {"items": [...], "next": "<cursor>" | null, "freshness": <the caller's>}
//       400 search.bad_param naming the parameter, 404 search.unknown_kind, 405 for a method
//       other than GET or HEAD; every error in the API's body {"code", "message", "traceId"}.
//
// No replica logic here: the caller says how fresh its tables are (`freshness`, passed
// through as it is) and waits for min_seq itself, between read_search_request and
// answer_search when it needs to (serve_search is both, for a caller that does not).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/sqlite.h"
#include "controlplane/public_partition/search_query.h"

namespace hisgate::controlplane::public_partition {

inline constexpr const char* kSearchPathPrefix = "/api/v1/search/";

// Whether `path` is under kSearchPathPrefix: the route the caller hands to serve_search.
bool is_search_path(std::string_view path);

// A request's method and target (path and query), read and checked. `today` as for
// parse_search. Errors: NotFound search.unknown_kind, BadInput http.method_not_allowed,
// search.bad_param or http.bad_uri; search_status() gives each its HTTP status.
Result<SearchRequest> read_search_request(const std::string& method, const std::string& uri, std::string_view today);

// The HTTP status of an error from read_search_request or run_search.
int search_status(const Error& e);

// Runs the search and answers it (200), or answers the error (an Internal one is 500).
void answer_search(Poco::Net::HTTPServerResponse& res, sql::Db& db, const SearchRequest& r,
                   const nlohmann::json& freshness);
// An error from read_search_request as the API answers it (405 with its Allow header).
void answer_search_error(Poco::Net::HTTPServerResponse& res, const Error& e);

// Both steps: read the request, then answer it.
void serve_search(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res, sql::Db& db,
                  const nlohmann::json& freshness, std::string_view today);

}  // namespace hisgate::controlplane::public_partition
