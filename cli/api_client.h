// How operator commands reach the control plane's HTTP API (issue 13 item 8): the URL and
// the bearer token come from flags, else from the CLI config file, and every answer is
// read within bounds.
//
// The config file is --config FILE, else $HISGATE_CLI_CONFIG, else $XDG_CONFIG_HOME/hisgate/cli.json, else
// ~/.config/hisgate/cli.json; JSON:
//   {"url": "http://127.0.0.1:8080", "token_file": "/home/ops/.config/hisgate/token"}
// An https:// URL is checked against "ca_file" (or --ca-file; default: the system's CAs).
// (an unknown key is an error: a misspelt one is never ignored). The token is read from a
// file, never taken on the command line (where `ps` would show it).
#pragma once

#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/client_session.h"
#include "common/error.h"

namespace hisgate::cli {

struct ApiTarget {
    HttpEndpoint endpoint;
    std::string token;
};

// Takes --url URL, --token-file F, --ca-file F and --config FILE out of `args` (what remains is the command's own);
// fills the rest from the config file. Errors name what is missing and where to put it.
Result<ApiTarget> api_target(Args& args);

// The largest answer a command reads (a page of 1000 hospitals is about 2 MiB).
inline constexpr size_t kMaxApiAnswerBytes = 16 * 1024 * 1024;

// GET `path_and_query` as JSON. A non-2xx answer is an error carrying the API's own code
// and message ({"code", "message"}), its class from the status.
Result<nlohmann::json> api_get(const ApiTarget& target, const std::string& path_and_query);
// POST with an empty body, the same way; waits up to `timeout_seconds` for the answer.
Result<nlohmann::json> api_post(const ApiTarget& target, const std::string& path_and_query, int timeout_seconds = 30);
// POST a JSON body, the same way.
Result<nlohmann::json> api_post_json(const ApiTarget& target, const std::string& path_and_query,
                                     const nlohmann::json& body);

// Any method, with a JSON body or none, waiting up to `timeout_seconds`.
Result<nlohmann::json> api_request(const ApiTarget& target, const std::string& method, const std::string& path_and_query,
                                   const nlohmann::json* body, int timeout_seconds);

// A command that shows what one API route lists: `hisgate <name> [--<flag> V]... [--json]
// [--url URL] [--token-file F] [--config FILE]`; each flag becomes the query parameter of its
// name. Prints `usage` for --help; the answer as JSON with --json, else `print_table(body)`
// once the body is an object holding the array `list_key`. Exit 0 with the list, 1 when the
// API refused (its code and message printed) or could not be reached, 2 on bad arguments.
struct ListCommand {
    const char* name;   // "alerts"
    const char* usage;
    const char* path;   // "/api/v1/alerts"
    std::initializer_list<const char*> flags;  // "--state", ...
    const char* list_key;                      // "alerts"
    std::function<void(const nlohmann::json& body)> print_table;
};
int run_list_command(const ListCommand& command, const Args& given);

// Percent-encodes a query parameter value.
std::string url_encode(const std::string& value);

}  // namespace hisgate::cli
