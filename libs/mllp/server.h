// MLLP server: accepts connections (plain or TLS), decodes frames, and answers each
// message with what the handler returns.
//
// Invariants:
//  - With a store, a message is in the store's log and synced (mllp/message_log.h, group
//    commit: one fdatasync for the messages of many connections) before any
//    acknowledgement for it is sent (original-mode ACK or commit ACK); if it cannot be
//    stored, the answer is negative (AE, or NAK in commit mode) and the handler is not called.
//  - An oversize frame is never buffered whole: it is answered AR (NAK in commit mode),
//    or the connection is closed when not even its MSH segment can be read (and, with
//    close_on_oversize, always closed once answered).
//  - With max_buffered_bytes, the frames in progress of all connections together never
//    hold more than that after a read: the read that would is dropped with its connection.
//  - A peer outside allowed_peers is closed before anything is read from it.
//  - Each open connection has a thread of its own, taken from a pool of workers that
//    outlive their connections; the accept loop never blocks on a peer (the TLS
//    handshake runs on the connection's thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/ip_range.h"
#include "mllp/message_log.h"

namespace hisgate::mllp {

struct ServerOptions {
    std::string bind = "127.0.0.1";
    uint16_t port = 0;  // 0 = pick a free port; see Server::port()
    size_t max_frame_bytes = 16u << 20;
    std::chrono::milliseconds idle_timeout{60000};  // a connection silent this long is closed
    int max_connections = 256;                      // more are accepted and closed at once
    // Store before answering: `store` (a log the caller opened, may be shared by servers),
    // else, with `store_dir` non-empty, a log the server opens there with default options.
    std::shared_ptr<MessageLog> store;
    std::string store_dir;
    // MLLP release 2: answer each message with a commit acknowledgement (0x06 once it is
    // stored and handled, 0x15 if not) instead of the handler's HL7 response.
    bool commit_ack = false;
    bool tls = false;
    std::string cert_file, key_file;  // PEM, for tls
    std::string client_ca_file;       // PEM; non-empty with tls = require client certificates
    // Peers allowed to connect (addresses or CIDR blocks); empty = any. Another is closed
    // at once, before a byte is read or a TLS handshake begins.
    std::vector<IpRange> allowed_peers;
    // An oversize frame closes its connection once answered (AR): the peer cannot make the
    // server read on past the cap, and what it sent after the frame is never read.
    bool close_on_oversize = false;
    // Bytes of frames in progress held by all connections together; 0 = no bound but
    // max_connections x max_frame_bytes. A read that takes the total over it closes its
    // connection (the peer's frame is dropped, nothing is answered).
    size_t max_buffered_bytes = 0;
    // TCP_DEFER_ACCEPT: a connection is handed to a worker only once its first bytes have
    // arrived (MLLP senders speak first), which saves the worker a second wake-up per
    // connection. A peer that connects and stays silent is seen only after about this
    // long (rounded up to whole seconds by the kernel). 0 = off.
    std::chrono::seconds defer_accept{0};
    // Names the server in its metrics: hisgate_mllp_buffered_bytes{listener},
    // hisgate_mllp_connections_closed_total{listener,reason}.
    std::string name = "mllp";
};

// Returns the bytes to answer `message` with (an ACK or an application response such as
// ORF^R04 / RSP^K11); "" = send nothing. Called from the connection's thread, so it may
// run concurrently for different connections; it must not throw (a throw is logged and
// the message is answered negatively).
struct Answer {
    Answer(std::string m = {}) : message(std::move(m)) {}
    Answer(const char* m) : message(m) {}
    std::string message;
    int copies = 1;  // more than 1: the same answer framed again, as a faulty peer would send it
    // HL7 enhanced mode: an accept ACK (MSA-1 CA) framed before `message`, or alone when
    // `message` is empty.
    std::string accept_ack;
};
using Handler = std::function<Answer(std::string_view message)>;

class Server {
public:
    Server(ServerOptions options, Handler handler);
    ~Server();  // stops
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds, listens and starts accepting. Errors: Config (bad TLS files, store directory),
    // Unavailable "mllp.bind_failed".
    Result<void> start();
    // Stops accepting, closes every connection, and waits for their threads. Idempotent.
    void stop();
    uint16_t port() const;  // the bound port after start()

    // How many connections are open now (for tests and metrics).
    int open_connections() const;
    // Bytes of frames in progress held by all connections now (hisgate_mllp_buffered_bytes).
    size_t buffered_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hisgate::mllp
