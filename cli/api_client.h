// How the operator CLI reaches the control plane's API: the URL and the bearer token,
// shared by every command that talks to it (triage, fleet, alerts, ...).
//
// Where they come from, first found wins:
//   --url URL, --token-file FILE           flags on the command line
//   HISGATE_URL, HISGATE_TOKEN_FILE        the environment
//   a config file: --config FILE, else $HISGATE_CLI_CONFIG, else ~/.config/hisgate/cli.json
//                  if it exists: {"url": "http://host:port", "token_file": "/path"}
//                  (unknown keys refused)
// The URL defaults to http://127.0.0.1:8080. A token file holds one bearer token
// (`hisgate token issue` prints one); surrounding whitespace is ignored. Without one the
// request goes without a token and the API answers 401.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/error.h"

namespace hisgate::cli {

struct ApiTarget {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    std::string base_path;  // the URL's path, without a trailing '/'
    std::string token;      // empty: none
};

// Takes --url, --token-file and --config (each with its value) out of `args` and resolves
// the target; a bad URL, an unreadable token file or config is a Config error naming it.
Result<ApiTarget> take_api_target(Args& args);

struct ApiReply {
    int status = 0;
    std::string body;
};

// GET base_path + path_and_query with the bearer token; an error when the API cannot be
// reached (Unavailable "api.unreachable"). The answer is read up to 16 MiB.
Result<ApiReply> api_get(const ApiTarget& target, const std::string& path_and_query);

// `value` percent-encoded for a query string.
std::string query_escape(const std::string& value);

// A JSON error body's "code: message", or the status and the first bytes of the body.
std::string describe_api_error(const ApiReply& reply);

}  // namespace hisgate::cli
