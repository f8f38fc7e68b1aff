#include "common/client_session.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>

#include "common/tls_context.h"

namespace hisgate {

Result<HttpEndpoint> endpoint_from_url(const std::string& url, const std::string& ca_file) {
    auto bad = [&] {
        return make_error(ErrorClass::Config, "http.bad_url",
                          "expected http://HOST:PORT or https://HOST:PORT, found \"" + url.substr(0, 200) + "\"");
    };
    HttpEndpoint e;
    try {
        Poco::URI uri(url);
        const std::string& scheme = uri.getScheme();
        if ((scheme != "http" && scheme != "https") || uri.getHost().empty()) return bad();
        if (!uri.getPath().empty() && uri.getPath() != "/") return bad();
        e.host = uri.getHost();
        e.port = uri.getPort();
        if (scheme == "https") {
            auto tls = make_client_tls({ca_file, /*verify_peer=*/true, "", ""});
            if (!tls) return tls.error();
            e.tls = *tls;
        }
    } catch (const Poco::Exception&) {
        return bad();
    }
    return e;
}

std::unique_ptr<Poco::Net::HTTPClientSession> open_client_session(const HttpEndpoint& endpoint) {
    if (endpoint.tls) return std::make_unique<Poco::Net::HTTPSClientSession>(endpoint.host, endpoint.port, endpoint.tls);
    return std::make_unique<Poco::Net::HTTPClientSession>(endpoint.host, endpoint.port);
}

}  // namespace hisgate
