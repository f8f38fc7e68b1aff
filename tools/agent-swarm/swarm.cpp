#include "agent-swarm/swarm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "agent-swarm/light_agent.h"
#include "agent-swarm/mqtt_packets.h"
#include "common/log.h"
#include "transport/backoff.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::swarm {

namespace {

using Ms = std::chrono::milliseconds;

int64_t now_ms() {
    return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The largest packet read from the broker: a request (the largest thing sent to an agent)
// with room for its topic and properties. The CONNECT tells the broker, which then drops
// anything larger instead of sending it.
constexpr size_t kMaxPacketBytes = limits::kRequestBytes + 4096;
// Unsent bytes a connection may hold before it counts as stuck and is dropped.
constexpr size_t kMaxUnsentBytes = 1 << 20;
constexpr int64_t kScanEveryMs = 20;

enum class Phase : uint8_t { Waiting, Connecting, Connack, Suback, Birth, Online };

struct Conn {
    explicit Conn(LightAgent a) : agent(std::move(a)) {}
    LightAgent agent;
    std::string password;
    std::string request_topic;
    int fd = -1;
    uint32_t generation = 0;  // of the socket: events of a closed one are told apart
    Phase phase = Phase::Waiting;
    int attempt = 0;
    int64_t due_ms = 0;        // Waiting: the next attempt; Connecting..Birth: the step's deadline
    int64_t next_heartbeat_ms = -1;
    int64_t last_sent_ms = 0;
    int64_t ping_sent_ms = 0;  // 0: no PINGREQ outstanding
    uint16_t keepalive_s = 10;
    uint16_t next_id = 0;
    uint16_t awaited_id = 0;   // the SUBACK's or the birth's
    bool want_write = false;
    std::string birth;         // the encoded birth of the current connection
    std::string rx, tx;

    uint16_t take_id() {
        if (++next_id == 0) next_id = 1;
        return next_id;
    }
};

}  // namespace

struct Swarm::Impl {
    SwarmOptions options;
    std::vector<Conn> conns;
    int epoll_fd = -1;
    std::mt19937 rng{std::random_device{}()};
    sockaddr_in broker{};

    std::atomic<int64_t> online{0}, sessions{0}, failed_attempts{0}, refused{0}, losses{0}, heartbeats{0}, requests{0},
        answers{0}, protocol_errors{0};

    void arm(Conn& c, size_t index) {
        epoll_event ev{};
        ev.events = EPOLLIN | (c.want_write ? EPOLLOUT : 0u);
        ev.data.u64 = (static_cast<uint64_t>(c.generation) << 32) | index;
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void close_socket(Conn& c) {
        if (c.fd >= 0) {
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
        }
        c.fd = -1;
        c.rx.clear();
        c.tx.clear();
        c.want_write = false;
        c.ping_sent_ms = 0;
    }

    // An attempt that did not come online: wait the backoff, as MqttLink::run does.
    void fail_attempt(Conn& c, int64_t now, bool by_broker) {
        close_socket(c);
        failed_attempts.fetch_add(1, std::memory_order_relaxed);
        if (by_broker) refused.fetch_add(1, std::memory_order_relaxed);
        c.phase = Phase::Waiting;
        c.due_ms = now + jittered_backoff(c.attempt++, options.backoff_min, options.backoff_max, rng).count();
    }

    // The connection ended: an online one is tried again at once, as MqttLink::run does.
    void drop(Conn& c, int64_t now) {
        if (c.phase != Phase::Online) return fail_attempt(c, now, false);
        close_socket(c);
        online.fetch_sub(1, std::memory_order_relaxed);
        losses.fetch_add(1, std::memory_order_relaxed);
        c.phase = Phase::Waiting;
        c.due_ms = now;
    }

    // Sends what it can now; the rest waits for EPOLLOUT. False when the connection broke.
    bool flush(Conn& c, size_t index) {
        while (!c.tx.empty()) {
            ssize_t n = ::send(c.fd, c.tx.data(), c.tx.size(), MSG_NOSIGNAL);
            if (n > 0) {
                c.tx.erase(0, static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n < 0 && errno == EINTR) continue;
            return false;
        }
        bool want = !c.tx.empty();
        if (want != c.want_write) {
            c.want_write = want;
            arm(c, index);
        }
        return true;
    }

    bool send(Conn& c, size_t index, const std::string& bytes, int64_t now) {
        if (c.tx.size() + bytes.size() > kMaxUnsentBytes) return false;
        c.tx += bytes;
        c.last_sent_ms = now;
        return flush(c, index);
    }

    bool publish(Conn& c, size_t index, const OutgoingMessage& m, int64_t now) {
        mqtt::Publish p;
        p.topic = m.topic;
        p.payload = m.payload;
        p.qos = m.qos;
        p.retain = m.retained;
        if (p.qos > 0) p.packet_id = c.take_id();
        p.response_topic = m.response_topic;
        p.correlation_data = m.correlation_data;
        p.expiry_seconds = m.expiry_seconds;
        return send(c, index, mqtt::encode_publish(p), now);
    }

    void start_connect(Conn& c, size_t index, int64_t now) {
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            log::error("swarm.socket_failed", {{"error", std::strerror(errno)}});
            return fail_attempt(c, now, false);
        }
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as MqttLink (transport/tcp_nodelay.h)
        ++c.generation;
        c.phase = Phase::Connecting;
        c.due_ms = now + options.connect_timeout.count();
        int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&broker), sizeof broker);
        if (r < 0 && errno != EINPROGRESS) return fail_attempt(c, now, false);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = (static_cast<uint64_t>(c.generation) << 32) | index;
        c.want_write = true;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev) < 0) return fail_attempt(c, now, false);
    }

    // The TCP connection is up: CONNECT with this connection's will.
    void connected(Conn& c, size_t index, int64_t now) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) return fail_attempt(c, now, false);
        auto presence = c.agent.next_session();
        c.next_id = 0;
        c.birth = std::move(presence.birth.payload);  // sent once the subscription is acknowledged
        mqtt::Connect connect;
        connect.client_id = c.agent.hospital_id();
        connect.username = c.agent.hospital_id();
        connect.password = c.password;
        connect.keepalive_seconds = static_cast<uint16_t>(options.keepalive.count());
        connect.clean_start = options.session_expiry.count() == 0;
        connect.session_expiry_seconds = static_cast<uint32_t>(options.session_expiry.count());
        connect.maximum_packet_bytes = kMaxPacketBytes;
        connect.will = mqtt::Will{presence.will.topic, presence.will.payload, 1, true};
        c.keepalive_s = connect.keepalive_seconds;
        c.phase = Phase::Connack;
        if (!send(c, index, mqtt::encode_connect(connect), now)) return fail_attempt(c, now, false);
    }

    void on_packet(Conn& c, size_t index, const mqtt::Packet& p, int64_t now) {
        using mqtt::PacketType;
        auto protocol_error = [&] {
            protocol_errors.fetch_add(1, std::memory_order_relaxed);
            drop(c, now);
        };
        switch (p.type()) {
            case PacketType::Connack: {
                auto ack = mqtt::read_connack(p.body);
                if (!ack || c.phase != Phase::Connack) return protocol_error();
                if (ack->reason >= 0x80) return fail_attempt(c, now, true);
                if (ack->server_keepalive) c.keepalive_s = *ack->server_keepalive;
                c.awaited_id = c.take_id();
                c.phase = Phase::Suback;
                c.due_ms = now + options.step_timeout.count();
                if (!send(c, index, mqtt::encode_subscribe(c.awaited_id, c.request_topic, 1), now)) return drop(c, now);
                return;
            }
            case PacketType::Suback: {
                auto ack = mqtt::read_ack(PacketType::Suback, p.body);
                if (!ack || c.phase != Phase::Suback || ack->packet_id != c.awaited_id) return protocol_error();
                if (ack->reason >= 0x80) return fail_attempt(c, now, true);
                mqtt::Publish birth;
                birth.topic = topics::state(c.agent.hospital_id());
                birth.payload = std::move(c.birth);
                birth.qos = 1;
                birth.retain = true;
                birth.packet_id = c.awaited_id = c.take_id();
                c.phase = Phase::Birth;
                c.due_ms = now + options.step_timeout.count();
                if (!send(c, index, mqtt::encode_publish(birth), now)) return drop(c, now);
                return;
            }
            case PacketType::Puback: {
                auto ack = mqtt::read_ack(PacketType::Puback, p.body);
                if (!ack) return protocol_error();
                if (c.phase != Phase::Birth || ack->packet_id != c.awaited_id) return;  // a heartbeat's or an answer's
                if (ack->reason >= 0x80) return fail_attempt(c, now, true);
                c.phase = Phase::Online;
                c.attempt = 0;
                online.fetch_add(1, std::memory_order_relaxed);
                sessions.fetch_add(1, std::memory_order_relaxed);
                if (c.next_heartbeat_ms < 0) {
                    std::uniform_int_distribution<int64_t> phase(0, options.heartbeat_interval.count() - 1);
                    c.next_heartbeat_ms = now + phase(rng);
                }
                return;
            }
            case PacketType::Publish: {
                auto msg = mqtt::read_publish(p.first, p.body);
                if (!msg || c.phase == Phase::Connack) return protocol_error();
                if (msg->qos == 1 && !send(c, index, mqtt::encode_puback(msg->packet_id), now)) return drop(c, now);
                requests.fetch_add(1, std::memory_order_relaxed);
                IncomingMessage in;
                in.topic = std::move(msg->topic);
                in.payload = std::move(msg->payload);
                in.response_topic = std::move(msg->response_topic);
                in.correlation_data = std::move(msg->correlation_data);
                for (const auto& out : c.agent.answer(in, now)) {
                    if (!publish(c, index, out, now)) return drop(c, now);
                    answers.fetch_add(1, std::memory_order_relaxed);
                }
                return;
            }
            case PacketType::Pingresp: c.ping_sent_ms = 0; return;
            case PacketType::Disconnect: return drop(c, now);  // the broker ended it (a reason code says why)
            default: return protocol_error();
        }
    }

    void readable(Conn& c, size_t index, int64_t now) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.rx.append(buf, static_cast<size_t>(n));
                size_t used = 0;
                for (;;) {
                    mqtt::Packet p;
                    auto size = mqtt::next_packet(std::string_view(c.rx).substr(used), kMaxPacketBytes, p);
                    if (!size) {
                        protocol_errors.fetch_add(1, std::memory_order_relaxed);
                        return drop(c, now);
                    }
                    if (*size == 0) break;
                    used += *size;
                    const uint32_t generation = c.generation;
                    on_packet(c, index, p, now);
                    if (c.fd < 0 || c.generation != generation) return;  // the packet ended the connection
                }
                c.rx.erase(0, used);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            return drop(c, now);  // closed by the broker, or reset
        }
    }

    void on_event(const epoll_event& ev, int64_t now) {
        size_t index = ev.data.u64 & 0xffffffffu;
        uint32_t generation = static_cast<uint32_t>(ev.data.u64 >> 32);
        if (index >= conns.size()) return;
        Conn& c = conns[index];
        if (c.fd < 0 || c.generation != generation) return;  // an event of a socket closed earlier in this batch
        if (c.phase == Phase::Connecting) {
            if (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connected(c, index, now);
            return;
        }
        if (ev.events & EPOLLIN) {
            readable(c, index, now);
            if (c.fd < 0 || c.generation != generation) return;
        }
        if (ev.events & (EPOLLERR | EPOLLHUP)) return drop(c, now);
        if ((ev.events & EPOLLOUT) && !flush(c, index)) return drop(c, now);
    }

    // Timers: attempts due, steps overdue, heartbeats, keep-alive.
    void scan(int64_t now) {
        for (size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            switch (c.phase) {
                case Phase::Waiting:
                    if (now >= c.due_ms) start_connect(c, i, now);
                    break;
                case Phase::Connecting:
                case Phase::Connack:
                case Phase::Suback:
                case Phase::Birth:
                    if (now >= c.due_ms) fail_attempt(c, now, false);
                    break;
                case Phase::Online: break;
            }
            // A restart after release.install: the connection ends as the agent's process
            // would, and the next session's birth tells what it runs now.
            if (c.phase == Phase::Online && c.agent.restart_due(now)) {
                drop(c, now);
                continue;
            }
            if (c.next_heartbeat_ms >= 0 && now >= c.next_heartbeat_ms) {
                // Skipped while offline, as the real agent's presence loop skips it.
                if (c.phase == Phase::Online) {
                    if (publish(c, i, c.agent.heartbeat(), now)) heartbeats.fetch_add(1, std::memory_order_relaxed);
                    else drop(c, now);
                }
                c.next_heartbeat_ms += options.heartbeat_interval.count();
                if (c.next_heartbeat_ms <= now) c.next_heartbeat_ms = now + options.heartbeat_interval.count();
            }
            if (c.fd >= 0 && c.phase != Phase::Connecting && c.phase != Phase::Waiting && c.keepalive_s > 0) {
                const int64_t keepalive_ms = int64_t{c.keepalive_s} * 1000;
                if (c.ping_sent_ms > 0 && now - c.ping_sent_ms >= keepalive_ms) drop(c, now);
                else if (c.ping_sent_ms == 0 && now - c.last_sent_ms >= keepalive_ms) {
                    c.ping_sent_ms = now;
                    if (!send(c, i, mqtt::encode_pingreq(), now)) drop(c, now);
                }
            }
        }
    }

    void shutdown() {
        const std::string goodbye = mqtt::encode_disconnect(0x04);  // "with will": each agent goes offline
        for (auto& c : conns) {
            if (c.fd < 0) continue;
            if (c.phase != Phase::Waiting && c.phase != Phase::Connecting) (void)::send(c.fd, goodbye.data(), goodbye.size(), MSG_NOSIGNAL);
            ::close(c.fd);
            c.fd = -1;
        }
    }
};

Swarm::Swarm(SwarmOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    auto& o = impl_->options;
    const auto description = simulated_description(o.version, o.release.params_file);
    impl_->conns.reserve(o.hospital_ids.size());
    std::uniform_int_distribution<int64_t> spread(0, std::max<int64_t>(o.start_spread.count(), 0));
    const int64_t start = now_ms();
    for (size_t i = 0; i < o.hospital_ids.size(); ++i) {
        auto& c = impl_->conns.emplace_back(LightAgent(o.hospital_ids[i], description, o.session_base));
        c.agent.set_release_behaviour(&o.release);
        c.password = i < o.passwords.size() ? o.passwords[i] : "";
        c.request_topic = topics::request(o.hospital_ids[i]);
        c.due_ms = start + spread(impl_->rng);
    }
    impl_->broker.sin_family = AF_INET;
    impl_->broker.sin_port = htons(o.port);
    inet_pton(AF_INET, o.host.c_str(), &impl_->broker.sin_addr);
}

Swarm::~Swarm() {
    if (impl_->epoll_fd >= 0) ::close(impl_->epoll_fd);
}

Result<void> Swarm::run(const std::atomic<bool>& stop) {
    auto& s = *impl_;
    if (s.broker.sin_addr.s_addr == 0)
        return make_error(ErrorClass::BadInput, "swarm.bad_host", "broker host is not an IPv4 address: " + s.options.host);
    s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epoll_fd < 0) return make_error(ErrorClass::Internal, "swarm.epoll", std::strerror(errno));
    std::vector<epoll_event> events(1024);
    int64_t next_scan = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        int64_t now = now_ms();
        int timeout = static_cast<int>(std::clamp<int64_t>(next_scan - now, 0, kScanEveryMs));
        int n = epoll_wait(s.epoll_fd, events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR) return make_error(ErrorClass::Internal, "swarm.epoll_wait", std::strerror(errno));
        now = now_ms();
        for (int i = 0; i < n; ++i) s.on_event(events[static_cast<size_t>(i)], now);
        if (now >= next_scan) {
            s.scan(now);
            next_scan = now + kScanEveryMs;
        }
    }
    s.shutdown();
    return {};
}

SwarmFigures Swarm::figures() const {
    const auto& s = *impl_;
    auto get = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
    SwarmFigures f;
    f.agents = static_cast<int64_t>(s.conns.size());
    f.online = get(s.online);
    f.sessions = get(s.sessions);
    f.failed_attempts = get(s.failed_attempts);
    f.refused = get(s.refused);
    f.losses = get(s.losses);
    f.heartbeats = get(s.heartbeats);
    f.requests = get(s.requests);
    f.answers = get(s.answers);
    f.protocol_errors = get(s.protocol_errors);
    return f;
}

}  // namespace hisgate::swarm
