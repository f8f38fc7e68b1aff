// A request's JSON body, bounded before anything reads it: its size (read_body), its
// nesting (parse_bounded_json), then each field's length (transport/limits.h). Every route
// that takes a JSON object reads it here.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::controlplane {

// The body as a JSON object. Errors: "http.body_too_large" (answer 413, and close the
// connection: the rest of the body is unread), read_body's framing errors,
// "http.body.*" from the bounded parser, BadInput "http.bad_json" (not an object), and
// "http.field_too_long".
Result<nlohmann::json> read_json_object(Poco::Net::HTTPServerRequest& req, const std::string& what);

}  // namespace hisgate::controlplane
