#include "mllp/client.h"

#include <Poco/Exception.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <thread>
#include <vector>

#include "common/log.h"
#include "mllp/hl7_view.h"
#include "mllp/socket_io.h"
#include "common/tls_context.h"

namespace hisgate::mllp {

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kClientReadChunk = 64 * 1024;

Poco::Timespan timespan(milliseconds ms) {
    return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(ms).count());
}

// Errors that another attempt cannot cure: give up at once.
bool final_error(const Error& e) {
    return e.cls == ErrorClass::BadInput || e.cls == ErrorClass::Config || e.cls == ErrorClass::Protocol;
}
Result<void> check_frameable(std::string_view message) {
    if (frameable(message)) return {};
    return make_error(ErrorClass::BadInput, "mllp.bad_message",
                      "message contains an MLLP block character (0x0B or 0x1C) and cannot be framed");
}
}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)), decoder_(options_.max_frame_bytes) {
    buffer_.resize(kClientReadChunk);
}

Client::~Client() { disconnect(); }

void Client::disconnect() {
    if (!socket_) return;
    try {
        socket_->close();
    } catch (const Poco::Exception&) {
        // Already broken: closing it is all that was left to do.
    }
    socket_.reset();
}

Result<std::string> Client::send(std::string_view message, Resend resend) {
    if (auto framing = check_frameable(message); !framing) return framing.error();
    std::string id = control_id(message, parse_options());
    if (id.empty() && !options_.commit_ack)
        return make_error(ErrorClass::BadInput, "mllp.bad_message",
                          "message has no control id (MSH-10) to match its acknowledgement against");
    const std::string frame = encode_frame(message);

    Error last{ErrorClass::Internal, "mllp.no_attempt", "max_attempts is below 1: nothing was sent"};
    milliseconds backoff = options_.retry_backoff;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
        if (attempt > 1) {
            log::info("mllp.retry", {{"attempt", attempt}, {"after", last.code}, {"backoff_ms", backoff.count()}});
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
        }
        auto connected = connect();
        if (!connected) {
            last = connected.error();
            if (final_error(last)) return last;
            continue;
        }
        auto answer = exchange(frame, id);
        if (answer.ok()) return answer;
        last = answer.error();
        // A commit NAK leaves the connection in a known state; anything else may not.
        bool not_committed = last.code == "mllp.commit_nak";
        if (!not_committed) disconnect();
        if (final_error(last)) return last;
        // The frame was written (or partly): the receiver may have executed it.
        if (resend == Resend::Never && !not_committed) return last;
    }
    return last;
}

Result<void> Client::send_unanswered(std::string_view message) {
    if (auto framing = check_frameable(message); !framing) return framing.error();
    if (auto connected = connect(); !connected) return connected.error();
    auto sent = write_all(*socket_, encode_frame(message));
    if (!sent) disconnect();
    return sent;
}

// A pooled connection the HIS closed while it idled (its idle timeout) reads as EOF now;
// writing into it would cost the message an attempt, or with one attempt fail it. Bytes
// that wait on a live connection are a late answer to an earlier message: dropped, as the
// next message has not been sent. Checked without blocking before every send.
bool Client::pooled_connection_alive() {
    try {
        while (socket_->poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) {
            int got = socket_->receiveBytes(buffer_.data(), static_cast<int>(buffer_.size()));
            if (got <= 0) return false;
            std::vector<Frame> stale;
            decoder_.feed(std::string_view(buffer_.data(), static_cast<size_t>(got)), stale);
            if (!stale.empty()) log::info("mllp.stale_answer_dropped", {{"frames", stale.size()}});
        }
        return true;
    } catch (const Poco::Exception&) {
        return false;
    }
}

Result<void> Client::connect() {
    if (socket_ && !pooled_connection_alive()) {
        log::info("mllp.pooled_connection_closed", {{"peer", options_.host + ":" + std::to_string(options_.port)}});
        disconnect();
    }
    if (socket_) return {};
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    if (options_.tls && !tls_) {
        auto tls = make_client_tls({options_.ca_file, options_.verify_peer, options_.cert_file, options_.key_file});
        if (!tls) return tls.error();
        tls_ = *tls;
    }
    try {
        Poco::Net::StreamSocket plain;
        plain.connect(Poco::Net::SocketAddress(options_.host, options_.port), timespan(options_.connect_timeout));
        if (options_.tls) {
            // The handshake runs inside attach() and is bounded by the receive timeout.
            plain.setReceiveTimeout(timespan(options_.connect_timeout));
            plain.setSendTimeout(timespan(options_.connect_timeout));
            socket_ = Poco::Net::SecureStreamSocket::attach(plain, options_.host, tls_);
        } else {
            socket_ = plain;
        }
        socket_->setNoDelay(true);  // one small message per round trip: never wait to coalesce
    } catch (const Poco::Net::CertificateValidationException& e) {
        socket_.reset();
        return make_error(ErrorClass::Config, "mllp.tls_untrusted_peer",
                          "certificate of " + where + " rejected: " + e.displayText());
    } catch (const Poco::Exception& e) {
        socket_.reset();
        return make_error(ErrorClass::Unavailable, "mllp.connect_failed",
                          "cannot connect to " + where + ": " + e.displayText());
    }
    decoder_ = FrameDecoder(options_.max_frame_bytes);  // nothing of an old connection carries over
    return {};
}

Result<std::string> Client::exchange(std::string_view frame, std::string_view control_id) {
    if (auto sent = write_all(*socket_, frame); !sent) return sent.error();
    const auto deadline = Clock::now() + options_.ack_timeout;
    std::vector<Frame> frames;
    while (true) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds::zero())
            return make_error(ErrorClass::Timeout, "mllp.ack_timeout",
                              "no answer to message " + std::string(control_id) + " from " + options_.host + ":" +
                                  std::to_string(options_.port) + " within " +
                                  std::to_string(options_.ack_timeout.count()) + " ms");
        auto got = read_some(*socket_, buffer_.data(), buffer_.size(), left);
        if (!got.ok()) {
            if (got.error().cls == ErrorClass::Timeout) continue;
            return got.error();
        }
        if (*got == 0)
            return make_error(ErrorClass::Unavailable, "mllp.connection_lost",
                              "peer closed the connection before answering message " + std::string(control_id));
        frames.clear();
        decoder_.feed(std::string_view(buffer_.data(), *got), frames);
        for (Frame& f : frames) {
            if (f.oversize)
                return make_error(ErrorClass::Protocol, "mllp.oversize_answer",
                                  "answer exceeds the maximum frame size of " +
                                      std::to_string(options_.max_frame_bytes) + " bytes");
            if (options_.commit_ack && f.payload.size() == 1 && f.payload[0] == kCommitNak)
                return make_error(ErrorClass::Rejected, "mllp.commit_nak",
                                  "receiver did not commit message " + std::string(control_id));
            if (answers(f.payload, control_id)) {
                if (options_.enhanced_ack && acknowledgment_code(f.payload, parse_options()) == "CA") {
                    log::info("mllp.accept_ack", {{"hl7_control_id", control_id}});
                    continue;
                }
                return std::move(f.payload);
            }
            log::warn("mllp.unmatched_answer", {{"hl7_control_id", control_id}, {"bytes", f.payload.size()}});
        }
    }
}

bool Client::answers(std::string_view payload, std::string_view control_id) const {
    if (options_.commit_ack) return payload.size() == 1 && payload[0] == kCommitAck;
    return acknowledged_id(payload, parse_options()) == control_id;
}

hl7::ParseOptions Client::parse_options() const {
    hl7::ParseOptions o;
    o.default_charset = options_.default_charset;
    return o;
}

}  // namespace hisgate::mllp
