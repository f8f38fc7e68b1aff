// One HTTP exchange with a HIS over POCO (Net, NetSSL), shared by the REST and SOAP
// adapters and the doctor's clock check: transport failures become errors with the
// classes of the adapter contract, so callers only read answers. POCO is loaded by the
// agent anyway (MLLP, TLS); libcurl would add its own dependency chain to every agent.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/error.h"

namespace hisgate::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpOptions {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds answer_timeout{3000};
    std::string ca_file;      // "" = the system trust store; https:// only
    std::string auth_header;  // "" = no authentication header
    std::string auth_value;   // the secret: never logged, never in an error
    std::string code_prefix = "http";  // "rest", "soap": whose error codes these are
};

struct HttpRequest {
    std::string method = "GET";  // GET or POST
    std::string url;             // http(s)://host[:port][/path[?query]], path already encoded
    std::string body;            // sent only with POST
    std::string request_id;      // "" = no X-Request-Id header
    Headers headers;             // Accept, Content-Type, SOAPAction...
};

// The largest answer read from a HIS; beyond it the answer is refused ("P.answer_too_large").
inline constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

struct HttpAnswer {
    long status = 0;
    std::string body;
    Headers headers;
    // The first header of that name (case-insensitive), "" if none.
    std::string header(std::string_view name) const;
};

// Sends `r` and reads the whole answer, whatever its status. Errors, with
// o.code_prefix for P:
//   Unavailable "P.connect_failed"  nothing reached the HIS: name not resolved, refused,
//                                   or the connection (TLS handshake included) not
//                                   made within connect_timeout
//   Timeout "P.timeout"             sent, no whole answer within answer_timeout, counted
//                                   from when the connection was made (the request
//                                   went out), not from the start
//   Timeout "P.answer_lost"         the connection closed before a whole answer
//   Unavailable "P.transport_failed" anything else (the HIS's certificate not trusted,
//                                   a malformed answer, a bad URL)
// Both Timeout codes mean the outcome is unknown. Thread-safe: a connection per call;
// the TLS context for a CA file is made once and shared.
Result<HttpAnswer> http_exchange(const HttpOptions& o, const HttpRequest& r);

// The HIS's clock from the Date header of the answer to GET `url` (any status: only the
// header is read). Errors: those of http_exchange, Protocol "P.no_date" when the answer
// carries no readable Date header.
Result<HisClockReading> read_http_clock(const HttpOptions& o, const std::string& url);

// A path segment with everything but unreserved characters (RFC 3986) percent-encoded.
std::string path_segment(std::string_view text);

}  // namespace hisgate::http
