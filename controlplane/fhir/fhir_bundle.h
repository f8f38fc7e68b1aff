// A FHIR R4 searchset Bundle of one page (docs/fhir.md, "Paging"): the page's resources as
// entries (fullUrl, resource, search.mode match), a self link with the query that made it,
// and a next link with the same search parameters and the opaque _cursor of the next page
// (none on the last). No "total": pages are keyset pages, nothing counts the whole set.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hisgate::controlplane::fhir {

// The query string of `params` (name -> value), in name order, each value percent-encoded.
std::string page_query(const std::map<std::string, std::string>& params);

// `base`: the facade's root as the caller reached it ("https://host/fhir/r4"), or "" for
// links relative to the server ("/fhir/r4/..."). `params`: the search's parameters as
// given, `next_cursor` the next page's ("" on the last page).
nlohmann::json searchset(const std::string& base, const std::string& type, const std::map<std::string, std::string>& params,
                         const std::vector<nlohmann::json>& resources, const std::string& next_cursor);

}  // namespace hisgate::controlplane::fhir
