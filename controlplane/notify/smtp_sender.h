// Sends a Mail to an SMTP relay (POCO's SMTPClientSession): one connection per batch,
// EHLO, then MAIL FROM / RCPT TO / DATA per message, the subject RFC 2047-encoded and the
// body UTF-8 text, quoted-printable. No TLS or login: the relay is the operator's own
// (configurable host and port), reached on a trusted network; a relay that needs TLS is
// not built.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/notify/outbox.h"

namespace hisgate::controlplane::notify {

struct SmtpSettings {
    std::string host = "127.0.0.1";
    uint16_t port = 25;
    std::string from = "hisgate@localhost";    // the envelope and header sender
    std::string helo = "hisgate.localhost";
    std::chrono::milliseconds timeout{5000};   // connect, and each command's answer
};

// What sends a batch of messages: one result per message, in order. An error for one
// message (the relay refused it) does not stop the others; a connection that fails
// fails the rest.
class MailSender {
public:
    virtual ~MailSender() = default;
    virtual std::vector<Result<void>> send(const std::vector<Mail>& mails) = 0;
};

class SmtpSender final : public MailSender {
public:
    explicit SmtpSender(SmtpSettings settings) : settings_(std::move(settings)) {}
    // Errors: Unavailable "smtp.unreachable" (no connection, a timeout), Rejected
    // "smtp.refused" (the relay answered an error to this message).
    std::vector<Result<void>> send(const std::vector<Mail>& mails) override;

private:
    SmtpSettings settings_;
};

}  // namespace hisgate::controlplane::notify
