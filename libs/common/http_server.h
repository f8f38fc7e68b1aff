// A small HTTP server (POCO) that hands every request to one routing function. Used for
// the control plane's API and for /metrics on every process.
//
// Idle or slow clients cannot stop it (issue 12 item 5). Each connection has a thread of
// the server's own pool while it lasts, so what bounds the harm of a client that connects
// and sends nothing, or a byte at a time, is:
//   - a read timeout: no byte of a request's head or body for `read_timeout` closes the
//     connection, and so does `keep_alive_timeout` of silence between requests; a head
//     not complete within `head_deadline` (a byte every few seconds) closes it too;
//   - a cap on connections from one client address (`max_per_address`): one more is
//     answered 503 and closed at once, so one address cannot hold more than its share;
//   - a pool of `max_connections` threads, far above any one address's share, so other
//     clients are served while one address holds all it may.
// Framing is answered without desync: a version other than HTTP/1.0 or 1.1 is 505, a body
// the route could not read to its end (a bad chunk, a negative length) is 400 and closes
// the connection, an unparseable Content-Length closes it; every status goes out with its
// standard reason phrase, and HEAD gets a GET's head without the body.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.h"

namespace Poco {
class ThreadPool;
}
namespace Poco::Net {
class TCPServer;
}

namespace hisgate {

using HttpRoute = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

struct HttpLimits {
    std::chrono::seconds read_timeout{5};        // a request's head or body: longest wait for a byte
    std::chrono::seconds keep_alive_timeout{5};  // longest silence between two requests
    std::chrono::seconds head_deadline{10};      // a request head, however it trickles in
    int max_connections = 256;                   // served at once, one thread each
    int max_per_address = 32;                    // from one client address
};

class HttpServer {
public:
    HttpServer(std::string bind, uint16_t port, HttpRoute route, HttpLimits limits = {});
    ~HttpServer();
    // Before start(): the server speaks HTTPS only, with this context (common/tls_context.h
    // make_server_tls). A client that speaks plain HTTP to it fails its handshake and is
    // closed; the route never sees it.
    void use_tls(Poco::Net::Context::Ptr tls) { tls_ = std::move(tls); }
    bool tls() const { return !tls_.isNull(); }
    Result<void> start();
    // Stops accepting, closes every connection, and waits for the requests being handled
    // to return: after stop() the route is never called again.
    void stop();
    uint16_t port() const { return port_; }

    struct InFlight;     // requests being handled now
    struct Connections;  // open connections by client address
    class RouteFactory;

private:
    std::string bind_;
    uint16_t port_;
    HttpRoute route_;
    HttpLimits limits_;
    Poco::Net::Context::Ptr tls_;
    std::shared_ptr<InFlight> in_flight_;
    std::shared_ptr<Connections> connections_;
    std::unique_ptr<Poco::ThreadPool> pool_;
    RouteFactory* routes_ = nullptr;  // owned by server_'s connection factory
    std::unique_ptr<Poco::Net::TCPServer> server_;
    std::thread watchdog_;  // closes connections whose request head takes too long
    void watch_heads();
};

void send_text(Poco::Net::HTTPServerResponse& res, int status, const std::string& content_type,
               const std::string& body);
// The code of the last error body made on this thread (error_body) since
// clear_answered_code(); "" when none. The control plane's audit log records it after a
// route has answered (controlplane/audit/audit_log.h): every API error body is made by
// error_body, so the code is kept where it is known rather than read back from the body.
const std::string& answered_code();
void clear_answered_code();
// Records `code` as the answered one: for an error body made earlier and answered again
// (an Idempotency-Key's stored answer).
void note_answered_code(std::string_view code);

// A request's whole body, read in blocks and refused as soon as it passes `max_bytes` (a
// Content-Length over it is refused before any byte is read). Errors: BadInput
// "http.body_too_large" (answer 413 and close: the rest is unread), BadInput
// "http.bad_framing" (a bad chunk, or the client stopped sending).
Result<std::string> read_body(Poco::Net::HTTPServerRequest& req, size_t max_bytes, const std::string& what);

// A JSON answer. Text that is not UTF-8 (error messages echo the caller's path and ids) goes
// out as U+FFFD: a strict dump would throw, and the caller would get 500 instead.
void send_json(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body);
// The HTTP APIs' error body, {"code", "message", "traceId"} (the current trace's), as every
// route answers an error (controlplane/api.h).
nlohmann::json error_body(const Error& e);
void send_error_json(Poco::Net::HTTPServerResponse& res, int status, const Error& e);

// Serves GET /metrics from the global registry and GET /healthz; anything else is 404.
// Returns true when it answered.
bool serve_metrics(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate
