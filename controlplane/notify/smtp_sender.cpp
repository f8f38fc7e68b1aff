#include "controlplane/notify/smtp_sender.h"

#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

namespace hisgate::controlplane::notify {

namespace {
Poco::Timespan span_of(std::chrono::milliseconds ms) { return Poco::Timespan(static_cast<Poco::Int64>(ms.count()) * 1000); }
}  // namespace

std::vector<Result<void>> SmtpSender::send(const std::vector<Mail>& mails) {
    std::vector<Result<void>> out;
    if (mails.empty()) return out;
    auto fail_rest = [&](const std::string& why) {
        while (out.size() < mails.size())
            out.push_back(make_error(ErrorClass::Unavailable, "smtp.unreachable", "the SMTP relay: " + why));
    };
    try {
        Poco::Net::StreamSocket socket;
        socket.connect(Poco::Net::SocketAddress(settings_.host, settings_.port), span_of(settings_.timeout));
        Poco::Net::SMTPClientSession session(socket);
        session.setTimeout(span_of(settings_.timeout));
        session.login(settings_.helo);
        for (const auto& m : mails) {
            Poco::Net::MailMessage msg;
            msg.setSender(settings_.from);
            msg.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, m.to));
            msg.setSubject(Poco::Net::MailMessage::encodeWord(m.subject, "UTF-8"));
            msg.setContentType("text/plain; charset=UTF-8");
            msg.setContent(m.body, Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
            try {
                session.sendMessage(msg);
                out.emplace_back();
            } catch (const Poco::Net::SMTPException&) {
                // The relay refused this message (a bad recipient): the session goes on. The
                // relay's words may repeat the address, which is the patient's: not kept.
                out.push_back(make_error(ErrorClass::Rejected, "smtp.refused", "the SMTP relay refused the message"));
                try {
                    std::string answer;
                    session.sendCommand("RSET", answer);
                } catch (const Poco::Exception&) {
                    fail_rest("the connection broke after a refusal");
                    return out;
                }
            }
        }
        try {
            session.close();
        } catch (const Poco::Exception&) {
            // Every message was accepted already; a QUIT that fails changes nothing.
        }
    } catch (const Poco::Exception& e) {
        // Connection-level errors name the relay, never a recipient.
        fail_rest(e.displayText().substr(0, 200));
    }
    return out;
}

}  // namespace hisgate::controlplane::notify
