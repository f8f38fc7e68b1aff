// MLLP client: sends HL7 messages over one persistent connection (plain or TLS) and
// returns the answer to each.
//
// Invariants:
//  - An answer is taken for a message only if its MSA-2 equals the message's MSH-10;
//    any other frame (a late or duplicated answer to an earlier message) is skipped.
//  - After an ACK timeout the connection is closed before anything else is sent, so a
//    late answer can never arrive where the next message's answer is awaited.
//  - A retry re-sends the very same bytes (same MSH-10), so a receiver that stores by
//    control id recognises it as a duplicate.
// Not thread-safe: use one Client per thread.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "hl7/message.h"
#include "mllp/framer.h"

namespace hisgate::mllp {

struct ClientOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::chrono::milliseconds connect_timeout{2000}, ack_timeout{5000};
    int max_attempts = 3;                           // sends per message, first one included
    std::chrono::milliseconds retry_backoff{200};  // doubled after each failed attempt
    size_t max_frame_bytes = 16u << 20;            // largest answer accepted
    // MLLP release 2: expect a commit acknowledgement (0x06, or 0x15 = not committed,
    // retried) instead of an HL7 ACK; send() then returns the one byte kCommitAck.
    bool commit_ack = false;
    // HL7 enhanced acknowledgement mode: an accept ACK (MSA-1 CA) only says the receiver
    // took the message; send() waits on for the application's answer that follows it.
    // CE / CR (not accepted) are returned as the answer.
    bool enhanced_ack = false;
    // The charset of a message or answer whose MSH-18 is empty (the HIS's his.charset):
    // MSA-2 is matched and MSA-1 read in it.
    hl7::Charset default_charset = hl7::Charset::Utf8;
    bool tls = false;
    std::string ca_file;  // PEM; empty = the system's trusted CAs
    bool verify_peer = true;
    std::string cert_file, key_file;  // PEM; optional client certificate
};

// Whether send() may write a message again after its connection broke or its answer did
// not come. A message that changes what the receiver holds (a booking, a payment) goes out
// once per call: whether it executed is for the caller to settle (ask the receiver),
// never for a resend to guess. A connection that could not be opened, or an MLLP commit
// NAK (the receiver says it did not commit), carried nothing, and is retried either way.
enum class Resend { Allowed, Never };

class Client {
public:
    explicit Client(ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one HL7 message and returns the response whose MSA-2 equals the message's MSH-10
    // (an ACK or an application response such as ORF^R04 / RSP^K11). Reconnects as needed,
    // retrying up to max_attempts with backoff, as `resend` allows. Errors: BadInput "mllp.bad_message" (no
    // MSH-10, or bytes that cannot be framed), Config "mllp.tls_config", Unavailable
    // "mllp.connect_failed" / "mllp.connection_lost", Timeout "mllp.ack_timeout", Protocol
    // "mllp.oversize_answer", Rejected "mllp.commit_nak"; each the last attempt's.
    Result<std::string> send(std::string_view message, Resend resend = Resend::Allowed);

    // Sends a message that no answer will follow (an ACK, or one whose MSH-15 declines
    // acknowledgements): connects if needed and writes it once. Success means the bytes
    // were handed to the network, not that they arrived. Errors as for send().
    Result<void> send_unanswered(std::string_view message);

    // Closes the connection (the next send() reconnects).
    void disconnect();

private:
    Result<void> connect();
    bool pooled_connection_alive();
    // One attempt: write the frame, wait for the matching answer.
    Result<std::string> exchange(std::string_view frame, std::string_view control_id);
    // Whether `payload` answers the message with `control_id`.
    bool answers(std::string_view payload, std::string_view control_id) const;
    // How frames from the peer are read (options_.default_charset for an empty MSH-18).
    hl7::ParseOptions parse_options() const;

    ClientOptions options_;
    Poco::Net::Context::Ptr tls_;
    std::optional<Poco::Net::StreamSocket> socket_;
    FrameDecoder decoder_;
    std::string buffer_;
};

}  // namespace hisgate::mllp
