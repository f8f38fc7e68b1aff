// An HTTP client session to one of our own HTTP servers (the control plane's API, its
// replication routes): plain, or HTTPS when the endpoint has a TLS context. Both are POCO
// HTTPClientSession, so a caller sends and reads the same way whichever it is.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"

namespace hisgate {

struct HttpEndpoint {
    std::string host;
    uint16_t port = 0;
    Poco::Net::Context::Ptr tls;  // null: plain HTTP
};

// "http://HOST:PORT" or "https://HOST:PORT" (a path is not allowed); for https the server's
// certificate is checked against `ca_file` (empty: the system's CAs) and its host name.
// Errors: Config "http.bad_url", "tls.config".
Result<HttpEndpoint> endpoint_from_url(const std::string& url, const std::string& ca_file);

std::unique_ptr<Poco::Net::HTTPClientSession> open_client_session(const HttpEndpoint& endpoint);

}  // namespace hisgate
