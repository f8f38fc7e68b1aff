// The release repository over HTTP (issue 16 item 2), read-only, for staff and service
// tokens (the updater uses a service token); `hisgate release publish` is the only writer
// (release/repository.h). The repository directory is the config key "releases.repo_dir";
// without it these routes are 404.
//
//   GET /api/v1/releases                               every published version, newest first,
//                                                      with its manifest's summary
//   GET /api/v1/releases/{version}/manifest            the signed manifest.json as published:
//                                                      clients verify it against their pinned root
//   GET /api/v1/releases/{version}/packages/{name}     a package's bytes; {name} is one of the
//                                                      manifest's package paths, nothing else
//
// Packages answer HTTP Range for one range ("bytes=a-b", "bytes=a-", "bytes=-n"): 206 with
// Content-Range; 416 with "Content-Range: bytes */size" when it starts past the end. A
// Range in another shape (several ranges, garbage) is ignored as RFC 9110 allows: 200 with
// the whole file. ETag is the package's SHA-256 from the manifest, quoted; an If-Range that
// is not that ETag also gets the whole file, so a client resuming against other bytes
// starts over instead of splicing two files. Accept-Ranges: bytes.
// Names that are not versions, or not the manifest's package paths ("..", "%2F", a
// temporary directory), are 404 release.not_found / release.package_not_found.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"

namespace hisgate::controlplane {

// One single-range request resolved against a file of `size` bytes.
struct ByteRange {
    enum class Kind { Whole, Part, Unsatisfiable };
    Kind kind = Kind::Whole;
    uint64_t first = 0;  // Part: inclusive bounds, last < size
    uint64_t last = 0;
};
ByteRange resolve_range(const std::string& header, uint64_t size);

class ReleaseApi {
public:
    explicit ReleaseApi(std::string repo_dir) : repo_dir_(std::move(repo_dir)) {}

    using Route = ApiRoute;
    static std::optional<Route> route_of(const std::vector<std::string>& parts);
    // The routes route_of matches (controlplane/api_route.h).
    static const std::vector<RouteTemplate>& routes();
    void handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    void list(Poco::Net::HTTPServerResponse& res);
    void manifest(const std::string& version, Poco::Net::HTTPServerResponse& res);
    void package(const std::string& version, const std::string& name, Poco::Net::HTTPServerRequest& req,
                 Poco::Net::HTTPServerResponse& res);

    std::string repo_dir_;
};

}  // namespace hisgate::controlplane
