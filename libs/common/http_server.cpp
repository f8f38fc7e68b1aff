#include "common/http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "common/trace.h"

namespace hisgate {

// Poco's connections do not wait for their handlers when aborted; stop() waits on this
// count so no handler runs on after its server (and what its route refers to) is gone,
// and none starts after stop().
struct HttpServer::InFlight {
    std::mutex mu;
    std::condition_variable idle;
    int count = 0;
    bool stopped = false;
};

struct HttpServer::Connections {
    std::mutex mu;
    std::map<std::string, int> by_address;
    // Open connections by socket: when the head of the request being read began to be
    // awaited, and whether a handler has the request (its head complete).
    struct Watched {
        Poco::Net::StreamSocket socket;
        std::chrono::steady_clock::time_point head_since;
        bool in_handler = false;
        bool shut = false;
    };
    std::map<const void*, Watched> open;

    bool enter(const std::string& address, int cap) {
        std::lock_guard lock(mu);
        int& n = by_address[address];
        if (n >= cap) return false;
        ++n;
        return true;
    }
    void leave(const std::string& address, const void* socket) {
        std::lock_guard lock(mu);
        if (--by_address[address] <= 0) by_address.erase(address);
        open.erase(socket);
    }
    void watch(const Poco::Net::StreamSocket& socket) {
        std::lock_guard lock(mu);
        open[socket.impl()] = Watched{socket, std::chrono::steady_clock::now()};
    }
    void handling(const void* socket, bool now_in_handler) {
        std::lock_guard lock(mu);
        auto it = open.find(socket);
        if (it == open.end()) return;
        it->second.in_handler = now_in_handler;
        it->second.head_since = std::chrono::steady_clock::now();  // the next head is awaited from now
    }
    // Shuts down every connection whose request head has taken longer than `deadline`
    // (a client sending a byte every few seconds never hits the read timeout).
    int close_slow_heads(std::chrono::steady_clock::duration deadline) {
        std::lock_guard lock(mu);
        auto now = std::chrono::steady_clock::now();
        int closed = 0;
        for (auto& [_, w] : open)
            if (!w.in_handler && !w.shut && now - w.head_since > deadline) {
                w.shut = true;
                ++closed;
                try {
                    w.socket.shutdown();
                } catch (const std::exception&) {
                }
            }
        return closed;
    }
};

namespace {
const char* kJson = "application/json";

void send_problem(Poco::Net::HTTPServerResponse& res, int status, const std::string& code, const std::string& message) {
    res.setKeepAlive(false);  // what follows on this connection cannot be trusted
    nlohmann::json body = {{"code", code}, {"message", message}};
    send_text(res, status, kJson, body.dump());
}

// Whether the request's body was read to its end, so the next bytes on the connection are
// the next request. Unknown (a body with neither length nor chunks) counts as not.
bool body_consumed(Poco::Net::HTTPServerRequest& req) {
    bool bounded = req.getChunkedTransferEncoding() || req.hasContentLength();
    bool bodiless = req.getMethod() == "GET" || req.getMethod() == "HEAD" || req.getMethod() == "DELETE";
    if (!bounded) return bodiless;
    auto& in = req.stream();
    if (in.bad()) return false;  // a bad chunk, a broken connection
    // Read to its end: the body stream ends where its length or its last chunk says, and a
    // read that reaches that end sets failbit beside eofbit (every route that reads a whole
    // body in blocks does), which is no reason to close a keep-alive connection.
    if (in.eof()) return true;
    if (in.fail()) return false;
    try {
        return in.peek() == std::char_traits<char>::eof() && !in.bad();
    } catch (const std::exception&) {
        return false;
    }
}

class RouteHandler : public Poco::Net::HTTPRequestHandler {
public:
    RouteHandler(const HttpRoute& route, std::shared_ptr<HttpServer::InFlight> in_flight,
                 std::shared_ptr<HttpServer::Connections> connections)
        : route_(route), in_flight_(std::move(in_flight)), connections_(std::move(connections)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
        // The head is complete: no deadline runs until this request is answered.
        const void* socket = nullptr;
        if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&req)) socket = impl->socket().impl();
        connections_->handling(socket, true);
        struct Answered {
            HttpServer::Connections& c;
            const void* socket;
            ~Answered() { c.handling(socket, false); }
        } answered{*connections_, socket};
        {
            std::lock_guard lock(in_flight_->mu);
            if (in_flight_->stopped) return send_problem(res, 503, "http.stopping", "the server is stopping");
            ++in_flight_->count;
        }
        struct Done {
            HttpServer::InFlight& f;
            ~Done() {
                std::lock_guard lock(f.mu);
                if (--f.count == 0) f.idle.notify_all();
            }
        } done{*in_flight_};
        if (req.getVersion() != Poco::Net::HTTPMessage::HTTP_1_0 && req.getVersion() != Poco::Net::HTTPMessage::HTTP_1_1) {
            res.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);  // Poco echoes the request's version
            return send_problem(res, 505, "http.version", "only HTTP/1.0 and HTTP/1.1 are served");
        }
        if (req.hasContentLength() && req.getContentLength64() < 0)
            return send_problem(res, 400, "http.bad_framing", "Content-Length is negative");
        try {
            route_(req, res);
        } catch (const Poco::Exception& e) {
            log::warn("http.bad_request", {{"error", e.displayText()}});
            if (!res.sent()) send_problem(res, 400, "http.bad_framing", "the request could not be read");
        } catch (const std::exception& e) {
            log::error("http.handler_failed", {{"error", e.what()}});
            if (!res.sent()) send_problem(res, 500, "internal", "internal error");
        }
        // A body left unread (a bad chunk, a route that ignored it) would be parsed as the
        // next request: close the connection instead.
        if (res.getKeepAlive() && !body_consumed(req)) res.setKeepAlive(false);
    }

private:
    const HttpRoute& route_;
    std::shared_ptr<HttpServer::InFlight> in_flight_;
    std::shared_ptr<HttpServer::Connections> connections_;
};

// One more connection from an address that has its share: 503, closed at once.
class RefusedConnection : public Poco::Net::TCPServerConnection {
public:
    using TCPServerConnection::TCPServerConnection;
    void run() override {
        static const std::string body = R"({"code":"http.too_many_connections","message":"too many connections from this address"})";
        std::string reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
        try {
            socket().setSendTimeout(Poco::Timespan(1, 0));
            socket().sendBytes(reply.data(), static_cast<int>(reply.size()));
            socket().shutdownSend();
        } catch (const std::exception&) {
        }
    }
};

// A connection counted against its client address while it lasts.
class CountedConnection : public Poco::Net::HTTPServerConnection {
public:
    CountedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                      Poco::Net::HTTPRequestHandlerFactory::Ptr factory, std::shared_ptr<HttpServer::Connections> connections,
                      std::string address)
        : HTTPServerConnection(socket, params, factory), connections_(std::move(connections)), address_(std::move(address)),
          socket_(socket.impl()) {
        connections_->watch(socket);
    }
    ~CountedConnection() override { connections_->leave(address_, socket_); }

private:
    std::shared_ptr<HttpServer::Connections> connections_;
    std::string address_;
    const void* socket_;
};

class ConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    ConnectionFactory(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr routes,
                      std::shared_ptr<HttpServer::Connections> connections, int max_per_address)
        : params_(std::move(params)), routes_(std::move(routes)), connections_(std::move(connections)),
          max_per_address_(max_per_address) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        std::string address;
        try {
            address = socket.peerAddress().host().toString();
        } catch (const std::exception&) {
            address = "?";
        }
        if (!connections_->enter(address, max_per_address_)) {
            metrics::global()
                .counter("hisgate_http_connections_refused_total", "Connections refused: too many from one client address")
                .inc();
            log::warn("http.connection_refused", {{"reason", "too many connections from one address"}});
            return new RefusedConnection(socket);
        }
        return new CountedConnection(socket, params_, routes_, connections_, address);
    }

private:
    Poco::Net::HTTPServerParams::Ptr params_;
    Poco::Net::HTTPRequestHandlerFactory::Ptr routes_;
    std::shared_ptr<HttpServer::Connections> connections_;
    int max_per_address_;
};
}  // namespace

class HttpServer::RouteFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    RouteFactory(const HttpRoute& route, std::shared_ptr<HttpServer::InFlight> in_flight,
                 std::shared_ptr<HttpServer::Connections> connections)
        : route_(route), in_flight_(std::move(in_flight)), connections_(std::move(connections)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RouteHandler(route_, in_flight_, connections_);
    }
    // Shuts every open connection down: their threads see the end of their stream.
    void abort_connections() { serverStopped(this, true); }

private:
    const HttpRoute& route_;
    std::shared_ptr<HttpServer::InFlight> in_flight_;
    std::shared_ptr<HttpServer::Connections> connections_;
};

HttpServer::HttpServer(std::string bind, uint16_t port, HttpRoute route, HttpLimits limits)
    : bind_(std::move(bind)),
      port_(port),
      route_(std::move(route)),
      limits_(limits),
      in_flight_(std::make_shared<InFlight>()),
      connections_(std::make_shared<Connections>()) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::start() {
    {
        std::lock_guard lock(in_flight_->mu);
        in_flight_->stopped = false;
    }
    try {
        // SO_REUSEADDR (a restart binds its port at once) but not SO_REUSEPORT, which
        // POCO's ServerSocket(address) constructor also sets: with it a second process
        // binds the same port without an error and the kernel splits the connections
        // between the two (a test's request was answered by an agent's /metrics server).
        Poco::Net::ServerSocket socket = tls_ ? Poco::Net::SecureServerSocket(tls_) : Poco::Net::ServerSocket();
        socket.bind(Poco::Net::SocketAddress(bind_, port_), true, false);
        socket.listen(128);
        port_ = socket.address().port();
        Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(limits_.max_connections);
        params->setMaxQueued(limits_.max_connections);
        params->setKeepAlive(true);
        params->setTimeout(Poco::Timespan(static_cast<long>(limits_.read_timeout.count()), 0));
        params->setKeepAliveTimeout(Poco::Timespan(static_cast<long>(limits_.keep_alive_timeout.count()), 0));
        // A pool of this server's own: Poco's default pool (16 threads, shared by every
        // server in the process) is what sixteen idle connections used to exhaust.
        pool_ = std::make_unique<Poco::ThreadPool>(2, limits_.max_connections + 2, 60);
        auto* routes = new RouteFactory(route_, in_flight_, connections_);
        Poco::Net::HTTPRequestHandlerFactory::Ptr routes_ptr(routes);
        routes_ = routes;
        server_ = std::make_unique<Poco::Net::TCPServer>(
            new ConnectionFactory(params, routes_ptr, connections_, limits_.max_per_address), *pool_, socket, params);
        server_->start();
        watchdog_ = std::thread([this] { watch_heads(); });
        return {};
    } catch (const std::exception& e) {
        return make_error(ErrorClass::Config, "http.bind_failed",
                          "cannot listen on " + bind_ + ":" + std::to_string(port_) + ": " + e.what());
    }
}

void HttpServer::watch_heads() {
    std::unique_lock lock(in_flight_->mu);
    while (!in_flight_->idle.wait_for(lock, std::chrono::milliseconds(250), [this] { return in_flight_->stopped; })) {
        lock.unlock();
        if (int closed = connections_->close_slow_heads(limits_.head_deadline); closed > 0) {
            metrics::global()
                .counter("hisgate_http_slow_heads_closed_total", "Connections closed: a request head took too long")
                .inc(closed);
            log::warn("http.slow_heads_closed", {{"connections", closed}});
        }
        lock.lock();
    }
}

void HttpServer::stop() {
    {
        std::lock_guard lock(in_flight_->mu);
        in_flight_->stopped = true;
    }
    in_flight_->idle.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    if (server_) {
        server_->stop();
        routes_->abort_connections();
    }
    {
        std::unique_lock lock(in_flight_->mu);
        in_flight_->idle.wait(lock, [this] { return in_flight_->count == 0; });
    }
    if (server_) {
        pool_->joinAll();
        server_.reset();
        pool_.reset();
    }
}

Result<std::string> read_body(Poco::Net::HTTPServerRequest& req, size_t max_bytes, const std::string& what) {
    auto too_large = [&] {
        return make_error(ErrorClass::BadInput, "http.body_too_large",
                          what + " is at most " + std::to_string(max_bytes) + " bytes");
    };
    if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(max_bytes)) return too_large();
    std::string body;
    char buf[4096];
    auto& in = req.stream();
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        body.append(buf, static_cast<size_t>(in.gcount()));
        if (body.size() > max_bytes) return too_large();
    }
    if (in.bad()) return make_error(ErrorClass::BadInput, "http.bad_framing", what + ": the request body could not be read");
    return body;
}

namespace {
thread_local std::string t_answered_code;
}  // namespace

const std::string& answered_code() { return t_answered_code; }
void clear_answered_code() { t_answered_code.clear(); }
void note_answered_code(std::string_view code) { t_answered_code = code.substr(0, 128); }

void send_text(Poco::Net::HTTPServerResponse& res, int status, const std::string& content_type,
               const std::string& body) {
    res.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    res.setContentType(content_type);
    res.setContentLength(static_cast<std::streamsize>(body.size()));
    res.send() << body;
}

void send_json(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body) {
    send_text(res, status, kJson, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json error_body(const Error& e) {
    note_answered_code(e.code);
    return {{"code", e.code}, {"message", e.message}, {"traceId", current_trace().trace_id}};
}

void send_error_json(Poco::Net::HTTPServerResponse& res, int status, const Error& e) {
    send_json(res, status, error_body(e));
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
