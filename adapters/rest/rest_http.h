// One HTTP exchange with a REST HIS over libcurl: transport failures become errors with
// the classes of the adapter contract, so the adapter only reads answers.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace hisgate::rest {

struct HttpOptions {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds answer_timeout{3000};
    std::string ca_file;      // "" = the system trust store
    std::string auth_header;  // "" = no authentication header
    std::string auth_value;   // the secret: never logged
};

struct HttpAnswer {
    long status = 0;
    std::string body;
};

// Sends `body` (JSON, empty for a GET) to `url` with X-Request-Id: request_id.
// Errors: Unavailable "rest.connect_failed" (nothing reached the HIS), Timeout
// "rest.timeout" (sent, no answer in time) or "rest.answer_lost" (the connection closed
// before an answer): both mean the outcome is unknown; Unavailable "rest.transport_failed"
// for anything else. Thread-safe: every call has its own curl handle.
Result<HttpAnswer> http_exchange(const HttpOptions& o, const std::string& method, const std::string& url,
                                 const std::string& body, const std::string& request_id);

// A path segment with everything but unreserved characters percent-encoded.
std::string path_segment(const std::string& text);

}  // namespace hisgate::rest
