#include "controlplane/api_error.h"

#include <string>

#include "common/http_server.h"

namespace hisgate::controlplane {

namespace {
constexpr CodeStatus kSharedCodes[] = {
    {"auth.forbidden", 403},
    {"http.body_too_large", 413},
};
}  // namespace

int http_status_of(ErrorClass cls) {
    switch (cls) {
        case ErrorClass::BadInput: return 400;
        case ErrorClass::NotFound: return 404;
        case ErrorClass::Rejected: return 422;
        case ErrorClass::Unavailable: return 502;
        case ErrorClass::Protocol: return 502;
        case ErrorClass::Timeout: return 504;
        case ErrorClass::Config:
        case ErrorClass::Internal: return 500;
    }
    return 500;
}

CodeStatus answer_for(const Error& e, std::span<const CodeStatus> route_codes) {
    for (const auto& c : route_codes)
        if (e.code == c.code) return c;
    for (const auto& c : kSharedCodes)
        if (e.code == c.code) return c;
    return {e.code, http_status_of(e.cls)};
}

void send_api_error(Poco::Net::HTTPServerResponse& res, const Error& e, std::span<const CodeStatus> route_codes,
                    const nlohmann::json& extra) {
    if (e.code == "http.body_too_large" || e.code == "http.bad_framing") res.setKeepAlive(false);
    const CodeStatus answer = answer_for(e, route_codes);
    if (answer.retry_after_seconds > 0) res.set("Retry-After", std::to_string(answer.retry_after_seconds));
    nlohmann::json body = error_body(e);
    for (const auto& [key, value] : extra.items()) body[key] = value;
    send_json(res, answer.status, body);
}

}  // namespace hisgate::controlplane
