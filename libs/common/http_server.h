// A small HTTP server (POCO) that hands every request to one routing function. Used for
// the control plane's API and for /metrics on every process.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"

namespace Poco::Net {
class HTTPServer;
}

namespace hisgate {

using HttpRoute = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

class HttpServer {
public:
    HttpServer(std::string bind, uint16_t port, HttpRoute route, int max_threads = 16);
    ~HttpServer();
    Result<void> start();
    // Stops accepting, closes every connection, and waits for the requests being handled
    // to return: after stop() the route is never called again.
    void stop();
    uint16_t port() const { return port_; }

    struct InFlight;  // requests being handled now

private:
    std::string bind_;
    uint16_t port_;
    HttpRoute route_;
    int max_threads_;
    std::shared_ptr<InFlight> in_flight_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

void send_text(Poco::Net::HTTPServerResponse& res, int status, const std::string& content_type,
               const std::string& body);

// Serves GET /metrics from the global registry and GET /healthz; anything else is 404.
// Returns true when it answered.
bool serve_metrics(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate
