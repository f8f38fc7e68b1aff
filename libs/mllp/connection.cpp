#include "mllp/connection.h"

#include <Poco/Exception.h>
#include <Poco/Net/SecureStreamSocket.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"
#include "mllp/framer.h"
#include "mllp/hl7_view.h"
#include "mllp/socket_io.h"

namespace hisgate::mllp {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A read waits at most this long before looking at the stop flag again, so stop() never
// waits for a whole idle timeout.
constexpr milliseconds kConnectionStopCheck{200};
// The TLS handshake gets at most this long (and never more than the idle timeout).
constexpr milliseconds kHandshakeTimeout{10000};
constexpr std::size_t kConnectionReadChunk = 64 * 1024;

class Session {
public:
    Session(Poco::Net::StreamSocket socket, const ConnectionContext& context)
        : socket_(std::move(socket)), context_(context), options_(context.options),
          decoder_(context.options.max_frame_bytes) {}

    void run();

private:
    // Brings this connection's share of the server's buffered bytes up to date; false when
    // the total is now over the server's bound.
    bool account();
    bool secure();
    // Stores the messages of `frames` with one wait (group commit), into stored_.
    void store(const std::vector<Frame>& frames);
    // Answers one frame, appending the reply frame to `out`; false = close the connection.
    // `stored`: the frame's store outcome, null without a store.
    bool answer(const Frame& frame, const Result<Appended>* stored, std::string& out);
    // A negative answer: NAK in commit mode, else an HL7 ACK with `code` built from the
    // message's MSH segment; false when there is nothing to answer with.
    bool refuse(std::string_view message, hl7::AckCode code, std::string_view reason, std::string& out);

    Poco::Net::StreamSocket socket_;
    const ConnectionContext& context_;
    const ServerOptions& options_;
    FrameDecoder decoder_;
    std::string peer_;
    size_t held_ = 0;  // this connection's share of context_.buffered
    std::vector<std::string> keys_;  // reused by store()
    std::vector<LogEntry> entries_;
    std::vector<Result<Appended>> stored_;  // one per frame that is not oversize
};

void Session::store(const std::vector<Frame>& frames) {
    keys_.clear();
    entries_.clear();
    for (const Frame& f : frames)
        if (!f.oversize) keys_.push_back(store_key(f.payload));
    std::size_t k = 0;
    for (const Frame& f : frames)
        if (!f.oversize) entries_.push_back(LogEntry{f.payload, keys_[k++]});
    stored_ = context_.store->append_all(entries_);
}

bool Session::account() {
    const size_t now = decoder_.buffered();
    size_t total = now >= held_ ? context_.buffered.fetch_add(now - held_) + (now - held_)
                                : context_.buffered.fetch_sub(held_ - now) - (held_ - now);
    held_ = now;
    show_buffered(options_.name, total);
    return options_.max_buffered_bytes == 0 || total <= options_.max_buffered_bytes;
}

bool Session::secure() {
    auto timeout = std::min(options_.idle_timeout, kHandshakeTimeout);
    try {
        socket_.setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
        socket_.setSendTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
        Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(socket_, context_.tls);
        // Handshake now, so a failure shows up as such rather than as a lost connection.
        secure.completeHandshake();
        socket_ = secure;
        return true;
    } catch (const Poco::Exception& e) {
        log::warn("mllp.tls_handshake_failed", {{"peer", peer_}, {"error", e.displayText()}});
        return false;
    }
}

void Session::run() {
    try {
        peer_ = socket_.peerAddress().toString();
        socket_.setNoDelay(true);  // one small ACK per message: never wait to coalesce it
        socket_.setSendTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(options_.idle_timeout).count()));
    } catch (const Poco::Exception& e) {
        log::warn("mllp.connection_failed", {{"error", e.displayText()}});
        return;
    }
    if (context_.tls && !secure()) return;
    log::debug("mllp.connection_opened", {{"peer", peer_}});

    // One read buffer per worker thread, reused by its connections: a sender that connects
    // per message would otherwise pay a 64 KiB allocation and clearing each time.
    thread_local std::vector<char> buffer(kConnectionReadChunk);
    std::vector<Frame> frames;
    std::string replies;
    auto last_activity = Clock::now();
    std::string reason = "peer closed";
    while (true) {
        if (context_.stopping.load()) {
            reason = "server stopping";
            break;
        }
        auto idle_left = options_.idle_timeout - std::chrono::duration_cast<milliseconds>(Clock::now() - last_activity);
        if (idle_left <= milliseconds::zero()) {
            reason = "idle timeout";
            log::info("mllp.idle_timeout", {{"peer", peer_}, {"idle_timeout_ms", options_.idle_timeout.count()}});
            break;
        }
        auto got = read_some(socket_, buffer.data(), buffer.size(), std::min(idle_left, kConnectionStopCheck));
        if (!got.ok()) {
            if (got.error().cls == ErrorClass::Timeout) continue;
            reason = got.error().message;
            break;
        }
        if (*got == 0) break;
        last_activity = Clock::now();

        frames.clear();
        decoder_.feed(std::string_view(buffer.data(), *got), frames);
        if (!account()) {
            reason = "buffered bytes over the server's bound";
            count_closed(options_.name, "buffer_bound");
            log::warn("mllp.buffer_bound", {{"peer", peer_}, {"max_buffered_bytes", options_.max_buffered_bytes}});
            break;
        }
        // Every reply of one read goes out in one write; each was made only after its
        // message was stored, so batching never lets an ACK overtake its fsync.
        replies.clear();
        bool keep_open = true;
        bool oversize = false;
        if (context_.store) store(frames);
        std::size_t next_stored = 0;
        for (const Frame& frame : frames) {
            oversize = oversize || frame.oversize;
            const Result<Appended>* stored = context_.store && !frame.oversize ? &stored_[next_stored++] : nullptr;
            keep_open = answer(frame, stored, replies);
            if (!keep_open) break;
        }
        if (keep_open && options_.close_on_oversize && (oversize || decoder_.skipping())) {
            // Answered now, from the head kept, however much of the frame is still to come.
            if (!oversize) (void)answer(Frame{std::string(decoder_.head()), true}, nullptr, replies);
            count_closed(options_.name, "oversize_frame");
            keep_open = false;
        }
        if (!replies.empty()) {
            if (auto sent = write_all(socket_, replies); !sent) {
                reason = sent.error().message;
                break;
            }
        }
        if (!keep_open) {
            reason = "unanswerable or oversize frame";
            break;
        }
    }
    if (held_ > 0) show_buffered(options_.name, context_.buffered.fetch_sub(held_) - held_);
    if (decoder_.in_frame() || decoder_.discarded_bytes() > 0)
        log::warn("mllp.incomplete_data", {{"peer", peer_},
                                           {"frame_cut_short", decoder_.in_frame()},
                                           {"discarded_bytes", decoder_.discarded_bytes()}});
    log::debug("mllp.connection_closed", {{"peer", peer_}, {"reason", reason}});
    try {
        socket_.close();
    } catch (const Poco::Exception&) {
        // The peer is gone already; nothing is left to release.
    }
}

bool Session::answer(const Frame& frame, const Result<Appended>* stored, std::string& out) {
    if (frame.oversize) {
        log::warn("mllp.oversize_frame", {{"peer", peer_}, {"max_frame_bytes", options_.max_frame_bytes}});
        return refuse(frame.payload, hl7::AckCode::AR,
                      "message exceeds the maximum frame size of " + std::to_string(options_.max_frame_bytes) + " bytes",
                      out);
    }
    const std::string_view message = frame.payload;
    if (stored) {
        if (!stored->ok()) {
            log::error("mllp.store_failed", {{"peer", peer_}, {"error", stored->error().describe()}});
            return refuse(message, hl7::AckCode::AE, "message could not be stored", out);
        }
        if ((*stored)->duplicate)
            log::info("mllp.duplicate_message", {{"peer", peer_}, {"offset", (*stored)->offset}});
    }
    Answer answer;
    try {
        answer = context_.handler(message);
    } catch (const std::exception& e) {
        log::error("mllp.handler_failed", {{"peer", peer_}, {"error", e.what()}});
        return refuse(message, hl7::AckCode::AE, "message could not be processed", out);
    }
    if (options_.commit_ack) {
        append_frame(out, std::string_view(&kCommitAck, 1));
        return true;
    }
    if (!answer.accept_ack.empty() && frameable(answer.accept_ack)) append_frame(out, answer.accept_ack);
    if (answer.message.empty()) return true;
    if (!frameable(answer.message)) {
        log::error("mllp.unframeable_response", {{"peer", peer_}, {"bytes", answer.message.size()}});
        return refuse(message, hl7::AckCode::AE, "response could not be framed", out);
    }
    for (int i = 0; i < std::max(answer.copies, 1); ++i) append_frame(out, answer.message);
    return true;
}

bool Session::refuse(std::string_view message, hl7::AckCode code, std::string_view reason, std::string& out) {
    if (options_.commit_ack) {
        append_frame(out, std::string_view(&kCommitNak, 1));
        return true;
    }
    std::string ack = negative_ack(message, code, reason);
    if (ack.empty()) {
        log::warn("mllp.unanswerable_frame", {{"peer", peer_}, {"reason", reason}});
        return false;
    }
    append_frame(out, ack);
    return true;
}

}  // namespace

void count_closed(const std::string& listener, const std::string& reason) {
    metrics::global()
        .counter("hisgate_mllp_connections_closed_total",
                 "MLLP connections the server closed for what the peer did (not allowed, oversize frame, buffer bound)",
                 {{"listener", listener}, {"reason", reason}})
        .inc();
}

void show_buffered(const std::string& listener, size_t bytes) {
    metrics::global()
        .gauge("hisgate_mllp_buffered_bytes", "Bytes of MLLP frames in progress held by all connections",
               {{"listener", listener}})
        .set(static_cast<double>(bytes));
}

void serve_connection(Poco::Net::StreamSocket socket, const ConnectionContext& context) {
    Session(std::move(socket), context).run();
}

}  // namespace hisgate::mllp
