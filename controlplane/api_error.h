// How the control plane's HTTP APIs answer an error: the status, a Retry-After when the
// code says when to come back, and the body every route shares ({"code", "message",
// "traceId"}, common/http_server.h). A route whose codes mean something of their own (a
// conflict with a split in progress, a hospital that is away) names them; the rest go by
// the error's class.
#pragma once

#include <Poco/Net/HTTPServerResponse.h>

#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "common/error.h"

namespace hisgate::controlplane {

struct CodeStatus {
    std::string_view code;
    int status;
    int retry_after_seconds = 0;  // 0: no Retry-After
};

// By class: a caller's bad input 400, nothing there 404, a refusal by the rules 422, a peer
// (hospital, agent) that failed or answered badly 502, a peer that did not answer in time
// 504, our configuration or our bug 500.
int http_status_of(ErrorClass cls);

// The route's own codes first, then those every route shares (auth.forbidden 403,
// http.body_too_large 413), then the class.
CodeStatus answer_for(const Error& e, std::span<const CodeStatus> route_codes = {});

// Sends `e` as answer_for says, with `extra` fields added to the body. A body too large or
// badly framed also closes the connection: the rest of it is unread.
void send_api_error(Poco::Net::HTTPServerResponse& res, const Error& e, std::span<const CodeStatus> route_codes = {},
                    const nlohmann::json& extra = nlohmann::json::object());

}  // namespace hisgate::controlplane
