#include "controlplane/json_body.h"

#include "common/bounded_json.h"
#include "common/http_server.h"
#include "transport/limits.h"

namespace hisgate::controlplane {

Result<nlohmann::json> read_json_object(Poco::Net::HTTPServerRequest& req, const std::string& what) {
    constexpr size_t kMaxBody = limits::kHttpBodyBytes;
    auto body = read_body(req, kMaxBody, what);
    if (!body) return body.error();
    auto doc = parse_bounded_json(*body, {what, kMaxBody, "http.body"});
    if (!doc && doc.error().code != "http.body.invalid") return doc.error();
    if (!doc || !doc->is_object())
        return make_error(ErrorClass::BadInput, "http.bad_json", what + " must be a JSON object");
    if (auto too_long = limits::oversized_field(*doc, "body", "http.field_too_long")) return *too_long;
    return std::move(doc.value());
}

}  // namespace hisgate::controlplane
