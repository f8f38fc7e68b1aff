// How operator commands reach the control plane's HTTP API (issue 13 item 8): the URL and
// the bearer token come from flags, else from the CLI config file, and every answer is
// read within bounds.
//
// The config file is $HISGATE_CLI_CONFIG, else $XDG_CONFIG_HOME/hisgate/cli.json, else
// ~/.config/hisgate/cli.json; JSON:
//   {"url": "http://127.0.0.1:8080", "token_file": "/home/ops/.config/hisgate/token"}
// (an unknown key is an error: a misspelt one is never ignored). The token is read from a
// file, never taken on the command line (where `ps` would show it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/error.h"

namespace hisgate::cli {

struct ApiTarget {
    std::string host;
    uint16_t port = 0;
    std::string token;
};

// Takes --url URL and --token-file F out of `args` (what remains is the command's own);
// fills the rest from the config file. Errors name what is missing and where to put it.
Result<ApiTarget> api_target(Args& args);

// The largest answer a command reads (a page of 1000 hospitals is about 2 MiB).
inline constexpr size_t kMaxApiAnswerBytes = 16 * 1024 * 1024;

// GET `path_and_query` as JSON. A non-2xx answer is an error carrying the API's own code
// and message ({"code", "message"}), its class from the status.
Result<nlohmann::json> api_get(const ApiTarget& target, const std::string& path_and_query);

// Percent-encodes a query parameter value.
std::string url_encode(const std::string& value);

}  // namespace hisgate::cli
