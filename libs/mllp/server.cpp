#include "mllp/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <list>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "mllp/connection.h"
#include "mllp/tls_context.h"

namespace hisgate::mllp {

namespace {
// How often the accept loop and idle workers look at the stop flag.
constexpr long kAcceptPollMicros = 200'000;
constexpr std::chrono::milliseconds kIdleWorkerCheck{200};
constexpr int kListenBacklog = 256;
// Idle workers kept for the next connections; more than this exit when they go idle.
constexpr int kMaxIdleWorkers = 16;
}  // namespace

// Connections are served by a pool of worker threads that outlive their connections:
// a new connection goes to an idle worker (a wake-up), and a thread is created only when
// none is idle. Creating a thread per connection made each short connection wait for the
// new thread to be scheduled, milliseconds on a busy machine.
struct Server::Impl {
    struct Worker {
        std::thread thread;
        bool done = false;  // guarded by pool_mu
    };

    Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

    void accept_loop();
    void hand_over(Poco::Net::StreamSocket socket);  // to an idle worker, or a new one
    void work(Worker& self);
    void reap_finished();  // joins the threads of workers that exited
    void join_all();

    ServerOptions options;
    Handler handler;
    std::shared_ptr<MessageLog> store;
    Poco::Net::Context::Ptr tls;
    Poco::Net::ServerSocket listener;
    uint16_t port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<int> open_connections{0};  // accepted and not yet closed, queued ones included
    std::atomic<size_t> buffered{0};       // bytes of frames in progress, all connections
    std::thread acceptor;

    std::mutex pool_mu;
    std::condition_variable pool_cv;
    std::deque<Poco::Net::StreamSocket> pending;  // accepted, waiting for a worker
    int idle_workers = 0;
    std::list<Worker> workers;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

int Server::open_connections() const { return impl_->open_connections.load(); }

size_t Server::buffered_bytes() const { return impl_->buffered.load(); }

Result<void> Server::start() {
    Impl& s = *impl_;
    if (s.acceptor.joinable())
        return make_error(ErrorClass::Internal, "mllp.already_started", "MLLP server started twice");
    if (s.options.store) {
        s.store = s.options.store;
    } else if (!s.options.store_dir.empty() && !s.store) {
        MessageLogOptions log_options;
        log_options.dir = s.options.store_dir;
        log_options.max_message_bytes = s.options.max_frame_bytes;
        auto opened = MessageLog::open(std::move(log_options));
        if (!opened) return opened.error();
        s.store = std::move(*opened);
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
                                      {"store", s.store != nullptr}});
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
        if (!options.allowed_peers.empty()) {
            std::string peer;
            try {
                peer = socket.peerAddress().host().toString();
            } catch (const Poco::Exception&) {
                // Gone already: an empty address is admitted by no list.
            }
            if (!admitted(options.allowed_peers, peer)) {
                log::warn("mllp.peer_refused", {{"listener", options.name}, {"peer", peer}});
                count_closed(options.name, "peer_not_allowed");
                socket.close();
                continue;
            }
        }
        if (open_connections.load() >= options.max_connections) {
            log::warn("mllp.connection_refused", {{"max_connections", options.max_connections}});
            socket.close();
            continue;
        }
        ++open_connections;
        hand_over(std::move(socket));
    }
}

void Server::Impl::hand_over(Poco::Net::StreamSocket socket) {
    std::lock_guard lock(pool_mu);
    pending.push_back(std::move(socket));
    if (idle_workers >= static_cast<int>(pending.size())) {
        pool_cv.notify_one();
        return;
    }
    Worker& worker = workers.emplace_back();
    worker.thread = std::thread([this, &worker] { work(worker); });
}

void Server::Impl::work(Worker& self) {
    std::unique_lock lock(pool_mu);
    while (true) {
        ++idle_workers;
        while (pending.empty() && !stopping.load()) pool_cv.wait_for(lock, kIdleWorkerCheck);
        --idle_workers;
        if (stopping.load()) break;
        Poco::Net::StreamSocket socket = std::move(pending.front());
        pending.pop_front();
        lock.unlock();
        serve_connection(std::move(socket), ConnectionContext{options, handler, store.get(), tls, stopping, buffered});
        --open_connections;
        lock.lock();
        if (idle_workers >= kMaxIdleWorkers) break;
    }
    self.done = true;
}

void Server::Impl::reap_finished() {
    std::list<Worker> finished;
    {
        std::lock_guard lock(pool_mu);
        for (auto it = workers.begin(); it != workers.end();) {
            auto next = std::next(it);
            if (it->done) finished.splice(finished.end(), workers, it);
            it = next;
        }
    }
    for (Worker& w : finished) w.thread.join();
}

void Server::Impl::join_all() {
    std::list<Worker> all;
    {
        std::lock_guard lock(pool_mu);
        pool_cv.notify_all();
        all.splice(all.end(), workers);
        open_connections -= static_cast<int>(pending.size());
        pending.clear();  // accepted but never served: closed here
    }
    for (Worker& w : all) w.thread.join();
}

}  // namespace hisgate::mllp
