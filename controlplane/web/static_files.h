// Serves the built patient portal (web/, docs/portal.md) from a directory: the control
// plane's `web.dir`. Everything outside the API (/api/, /fhir/, /metrics, /healthz) is the
// front end's: a file that exists is sent as it is; a path without a file extension is a
// screen of the single-page app and gets index.html.
//
// Invariants: only files under the directory are ever read (the path is checked to a safe
// alphabet with no "..", before it touches the file system); only GET and HEAD; a file is
// at most kMaxFileBytes. Caching: index.html is no-store (a new build is seen at once),
// a content-hashed asset (name-HASH.ext, HASH 8+ of [A-Z0-9]) is cached for a year and
// immutable, anything else is revalidated (no-cache). A precompressed FILE.gz beside a file
// is sent instead when the client accepts gzip.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <string>

namespace hisgate::controlplane::web {

class StaticFiles {
public:
    explicit StaticFiles(std::string dir) : dir_(std::move(dir)) {}

    // Whether a request for `uri` is the front end's (not the API's, /metrics or /healthz).
    static bool serves(const std::string& uri);
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) const;

    // The Content-Type of a file name by its extension; application/octet-stream otherwise.
    static std::string content_type(const std::string& name);
    // Whether a file name carries a content hash (esbuild's "[name]-[hash]" naming).
    static bool hashed(const std::string& name);

    static constexpr size_t kMaxFileBytes = 8 * 1024 * 1024;
    static constexpr size_t kMaxPathBytes = 256;

private:
    std::string dir_;
};

}  // namespace hisgate::controlplane::web
