#include "common/http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>

#include <condition_variable>
#include <mutex>

#include "common/log.h"
#include "common/metrics.h"
#include "common/process_metrics.h"

namespace hisgate {

// Poco's stopAll() closes connections but does not wait for their handlers; stop() waits
// on this count so no handler runs on after its server (and what its route refers to) is gone.
struct HttpServer::InFlight {
    std::mutex mu;
    std::condition_variable idle;
    int count = 0;
};

namespace {
class RouteHandler : public Poco::Net::HTTPRequestHandler {
public:
    RouteHandler(const HttpRoute& route, std::shared_ptr<HttpServer::InFlight> in_flight)
        : route_(route), in_flight_(std::move(in_flight)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
        {
            std::lock_guard lock(in_flight_->mu);
            ++in_flight_->count;
        }
        struct Done {
            HttpServer::InFlight& f;
            ~Done() {
                std::lock_guard lock(f.mu);
                if (--f.count == 0) f.idle.notify_all();
            }
        } done{*in_flight_};
        try {
            route_(req, res);
        } catch (const std::exception& e) {
            log::error("http.handler_failed", {{"path", req.getURI()}, {"error", e.what()}});
            if (!res.sent()) send_text(res, 500, "application/json", R"({"code":"internal","message":"internal error"})");
        }
    }

private:
    const HttpRoute& route_;
    std::shared_ptr<HttpServer::InFlight> in_flight_;
};

class RouteFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    RouteFactory(const HttpRoute& route, std::shared_ptr<HttpServer::InFlight> in_flight)
        : route_(route), in_flight_(std::move(in_flight)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RouteHandler(route_, in_flight_);
    }

private:
    const HttpRoute& route_;
    std::shared_ptr<HttpServer::InFlight> in_flight_;
};
}  // namespace

HttpServer::HttpServer(std::string bind, uint16_t port, HttpRoute route, int max_threads)
    : bind_(std::move(bind)),
      port_(port),
      route_(std::move(route)),
      max_threads_(max_threads),
      in_flight_(std::make_shared<InFlight>()) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::start() {
    try {
        Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(bind_, port_), 128);
        port_ = socket.address().port();
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(max_threads_);
        params->setKeepAlive(true);
        server_ = std::make_unique<Poco::Net::HTTPServer>(new RouteFactory(route_, in_flight_), socket, params);
        server_->start();
        return {};
    } catch (const std::exception& e) {
        return make_error(ErrorClass::Config, "http.bind_failed",
                          "cannot listen on " + bind_ + ":" + std::to_string(port_) + ": " + e.what());
    }
}

void HttpServer::stop() {
    if (server_) {
        server_->stopAll(true);
        server_.reset();
    }
    std::unique_lock lock(in_flight_->mu);
    in_flight_->idle.wait(lock, [this] { return in_flight_->count == 0; });
}

void send_text(Poco::Net::HTTPServerResponse& res, int status, const std::string& content_type,
               const std::string& body) {
    res.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    res.setContentType(content_type);
    res.setContentLength(static_cast<std::streamsize>(body.size()));
    res.send() << body;
}

bool serve_metrics(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (req.getURI() == "/metrics") {
        metrics::refresh_process_figures();
        send_text(res, 200, "text/plain; version=0.0.4", metrics::global().render());
        return true;
    }
    if (req.getURI() == "/healthz") {
        send_text(res, 200, "application/json", R"({"status":"ok"})");
        return true;
    }
    return false;
}

}  // namespace hisgate
