#include "mllp/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <condition_variable>
#include <iterator>
#include <list>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "mllp/connection.h"
#include "common/tls_context.h"

namespace hisgate::mllp {

namespace {
// How often idle workers and the reaper look at the stop flag.
constexpr std::chrono::milliseconds kServerStopCheck{200};
constexpr int kListenBacklog = 256;
// Idle workers kept for the next connections; more than this exit when they go idle.
constexpr int kMaxIdleWorkers = 16;
// After an accept error other than a timeout (out of descriptors), wait before retrying.
constexpr std::chrono::milliseconds kAcceptErrorPause{10};
}  // namespace

// Connections are accepted by the threads that serve them: idle workers wait in accept()
// on the listening socket (the kernel wakes one per connection), and the worker that
// accepted a connection serves it at once, so a short connection costs no hand-over
// between threads. A worker that takes the last idle place starts another, so one is
// always accepting. (A thread per connection made each short connection wait for the new
// thread to be scheduled, milliseconds on a busy machine; an accept thread handing over
// to a pool cost a wake-up per connection.)
struct Server::Impl {
    struct Worker {
        std::thread thread;
        bool done = false;  // guarded by pool_mu
    };

    Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

    void spawn_locked();  // a new idle worker; pool_mu held
    void work(Worker& self);
    // The checks made before a byte is read: allowed peers, max_connections. False = closed.
    bool admit(Poco::Net::StreamSocket& socket);
    void reap_loop();      // joins the threads of workers that exited, until stopping
    void reap_finished();
    void join_all();

    ServerOptions options;
    Handler handler;
    std::shared_ptr<MessageLog> store;
    Poco::Net::Context::Ptr tls;
    Poco::Net::ServerSocket listener;
    uint16_t port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<int> open_connections{0};  // admitted and not yet closed
    std::atomic<size_t> buffered{0};       // bytes of frames in progress, all connections
    std::thread reaper;

    std::mutex pool_mu;
    std::condition_variable reap_cv;
    int idle_workers = 0;  // waiting in accept()
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
    if (s.reaper.joinable())
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
        s.listener.bind(Poco::Net::SocketAddress(s.options.bind, s.options.port), true, false);  // no SO_REUSEPORT: a port taken fails to bind (http_server.cpp)
        s.listener.listen(kListenBacklog);
        // accept() gives up after this, so idle workers see the stop flag.
        const timeval wait{0, static_cast<suseconds_t>(std::chrono::duration_cast<std::chrono::microseconds>(kServerStopCheck).count())};
        if (::setsockopt(s.listener.impl()->sockfd(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) != 0)
            throw Poco::IOException(std::string("cannot set the accept timeout: ") + std::strerror(errno));
        if (s.options.defer_accept.count() > 0) {
            const int defer = static_cast<int>(s.options.defer_accept.count());
            if (::setsockopt(s.listener.impl()->sockfd(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) != 0)
                throw Poco::IOException(std::string("cannot defer accepts: ") + std::strerror(errno));
        }
        s.port = s.listener.address().port();
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "mllp.bind_failed",
                          "cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) + ": " +
                              e.displayText());
    }
    s.stopping = false;
    {
        std::lock_guard lock(s.pool_mu);
        s.spawn_locked();
    }
    s.reaper = std::thread([&s] { s.reap_loop(); });
    log::info("mllp.server_started", {{"bind", s.options.bind},
                                      {"port", s.port},
                                      {"tls", s.options.tls},
                                      {"commit_ack", s.options.commit_ack},
                                      {"store", s.store != nullptr}});
    return {};
}

void Server::stop() {
    Impl& s = *impl_;
    if (!s.reaper.joinable()) return;
    {
        std::lock_guard lock(s.pool_mu);
        s.stopping = true;
    }
    s.reap_cv.notify_all();
    s.reaper.join();
    s.join_all();
    s.listener.close();
    log::info("mllp.server_stopped", {{"port", s.port}});
}

void Server::Impl::spawn_locked() {
    Worker& worker = workers.emplace_back();
    ++idle_workers;
    worker.thread = std::thread([this, &worker] { work(worker); });
}

bool Server::Impl::admit(Poco::Net::StreamSocket& socket) {
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
            return false;
        }
    }
    if (open_connections.fetch_add(1) >= options.max_connections) {
        --open_connections;
        log::warn("mllp.connection_refused", {{"max_connections", options.max_connections}});
        socket.close();
        return false;
    }
    return true;
}

void Server::Impl::work(Worker& self) {
    // Counted idle by whoever started this worker.
    while (!stopping.load()) {
        // accept() directly: with SO_RCVTIMEO it returns EAGAIN when nothing came, which
        // POCO would turn into an exception five times a second per idle worker.
        const int fd = ::accept4(listener.impl()->sockfd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) continue;
            if (stopping.load()) break;
            log::warn("mllp.accept_failed", {{"error", std::strerror(errno)}});
            std::this_thread::sleep_for(kAcceptErrorPause);
            continue;
        }
        Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));
        {
            std::lock_guard lock(pool_mu);
            --idle_workers;
            if (idle_workers == 0 && !stopping.load()) spawn_locked();  // someone must keep accepting
        }
        if (admit(socket)) {
            serve_connection(std::move(socket), ConnectionContext{options, handler, store.get(), tls, stopping, buffered});
            --open_connections;
        }
        std::lock_guard lock(pool_mu);
        if (idle_workers >= kMaxIdleWorkers) {
            self.done = true;
            reap_cv.notify_one();
            return;
        }
        ++idle_workers;
    }
    std::lock_guard lock(pool_mu);
    --idle_workers;
    self.done = true;
}

void Server::Impl::reap_loop() {
    std::unique_lock lock(pool_mu);
    while (!stopping.load()) {
        reap_cv.wait_for(lock, kServerStopCheck);
        lock.unlock();
        reap_finished();
        lock.lock();
    }
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
        all.splice(all.end(), workers);
    }
    for (Worker& w : all) w.thread.join();
}

}  // namespace hisgate::mllp
