#include "mllp/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "mllp/connection.h"
#include "mllp/store.h"
#include "mllp/tls_context.h"

namespace hisgate::mllp {

namespace {
// How often the accept loop looks at the stop flag while no one connects.
constexpr long kAcceptPollMicros = 200'000;
constexpr int kListenBacklog = 256;
}  // namespace

struct Server::Impl {
    struct Worker {
        std::thread thread;
        std::atomic<bool> done{false};
    };

    Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

    void accept_loop();
    void reap_finished();  // joins the threads of connections that ended
    void join_all();

    ServerOptions options;
    Handler handler;
    std::unique_ptr<MessageStore> store;
    Poco::Net::Context::Ptr tls;
    Poco::Net::ServerSocket listener;
    uint16_t port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<int> open_connections{0};
    std::thread acceptor;
    std::mutex workers_mu;
    std::list<Worker> workers;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

int Server::open_connections() const { return impl_->open_connections.load(); }

Result<void> Server::start() {
    Impl& s = *impl_;
    if (s.acceptor.joinable())
        return make_error(ErrorClass::Internal, "mllp.already_started", "MLLP server started twice");
    if (!s.options.store_dir.empty()) {
        s.store = std::make_unique<MessageStore>(s.options.store_dir);
        if (auto opened = s.store->open(); !opened) return opened.error();
    }
    if (s.options.tls) {
        auto tls = make_server_tls({s.options.cert_file, s.options.key_file, s.options.client_ca_file});
        if (!tls) return tls.error();
        s.tls = *tls;
    }
    try {
        s.listener.bind(Poco::Net::SocketAddress(s.options.bind, s.options.port), true);
        s.listener.listen(kListenBacklog);
        s.port = s.listener.address().port();
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "mllp.bind_failed",
                          "cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) + ": " +
                              e.displayText());
    }
    s.stopping = false;
    s.acceptor = std::thread([&s] { s.accept_loop(); });
    log::info("mllp.server_started", {{"bind", s.options.bind},
                                      {"port", s.port},
                                      {"tls", s.options.tls},
                                      {"commit_ack", s.options.commit_ack},
                                      {"store", !s.options.store_dir.empty()}});
    return {};
}

void Server::stop() {
    Impl& s = *impl_;
    if (!s.acceptor.joinable()) return;
    s.stopping = true;
    s.acceptor.join();
    s.join_all();
    s.listener.close();
    log::info("mllp.server_stopped", {{"port", s.port}});
}

void Server::Impl::accept_loop() {
    while (!stopping.load()) {
        Poco::Net::StreamSocket socket;
        try {
            if (!listener.poll(Poco::Timespan(kAcceptPollMicros), Poco::Net::Socket::SELECT_READ)) {
                reap_finished();
                continue;
            }
            socket = listener.acceptConnection();
        } catch (const Poco::Exception& e) {
            log::warn("mllp.accept_failed", {{"error", e.displayText()}});
            continue;
        }
        reap_finished();
        if (open_connections.load() >= options.max_connections) {
            log::warn("mllp.connection_refused", {{"max_connections", options.max_connections}});
            socket.close();
            continue;
        }
        ++open_connections;
        std::lock_guard lock(workers_mu);
        Worker& worker = workers.emplace_back();
        worker.thread = std::thread([this, &worker, socket]() mutable {
            serve_connection(std::move(socket), ConnectionContext{options, handler, store.get(), tls, stopping});
            --open_connections;
            worker.done = true;
        });
    }
}

void Server::Impl::reap_finished() {
    std::lock_guard lock(workers_mu);
    for (auto it = workers.begin(); it != workers.end();) {
        if (it->done.load()) {
            it->thread.join();
            it = workers.erase(it);
        } else {
            ++it;
        }
    }
}

void Server::Impl::join_all() {
    std::lock_guard lock(workers_mu);
    for (Worker& w : workers) w.thread.join();
    workers.clear();
}

}  // namespace hisgate::mllp
