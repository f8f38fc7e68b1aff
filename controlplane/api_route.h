// One route of a part of the control plane's HTTP API, as that part's route_of(path
// segments) names it: the name is the metrics label of the route, `allow` the methods it
// serves (the Allow header of a 405 answer). The server (api.cpp) asks each part in turn.
//
// Each part declares its routes as a table of RouteTemplates (path with "{name}" segments
// for what varies) and matches a request's segments against it (match_route): the same
// tables are what the OpenAPI document (GET /api/v1/openapi.json) is checked against, so a
// route cannot be served without being listed (tests/system/e2e/portal_test.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hisgate::controlplane {

struct ApiRoute {
    std::string name;
    const char* allow;
};

struct RouteTemplate {
    const char* name;
    const char* path;   // "/api/v1/bookings/{bookingId}/cancel"
    const char* allow;  // "GET, HEAD", "POST", ...
};

// The path's segments ("/api/v1/x" -> {"api", "v1", "x"}; empty segments dropped).
inline std::vector<std::string> route_segments(std::string_view path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) parts.emplace_back(path.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

// The first route of `table` whose template matches `parts` segment by segment (a "{...}"
// segment matches any one segment), or nothing.
inline std::optional<ApiRoute> match_route(const std::vector<RouteTemplate>& table, const std::vector<std::string>& parts) {
    for (const auto& t : table) {
        auto want = route_segments(t.path);
        if (want.size() != parts.size()) continue;
        bool same = true;
        for (size_t i = 0; i < want.size() && same; ++i)
            same = (want[i].size() > 1 && want[i].front() == '{' && want[i].back() == '}') || want[i] == parts[i];
        if (same) return ApiRoute{t.name, t.allow};
    }
    return std::nullopt;
}

}  // namespace hisgate::controlplane
