#include "adapters/http/his_http.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <strings.h>
#include <type_traits>

#include "common/tls_context.h"

namespace hisgate::http {

namespace {

using Clock = std::chrono::steady_clock;

Poco::Timespan timespan(std::chrono::milliseconds ms) { return Poco::Timespan(ms.count() * 1000); }

struct Url {
    bool https = false;
    std::string host;        // without the brackets of an IPv6 literal
    uint16_t port = 0;
    std::string origin;      // scheme://host:port, for messages: the path may hold ids
    std::string path_query;  // sent as written: re-encoding could change a segment's meaning
};

Result<Url> parse_url(const std::string& url, const std::string& prefix) {
    auto bad = [&] { return make_error(ErrorClass::Unavailable, prefix + ".transport_failed", "not an http(s) URL: " + url); };
    Url u;
    size_t at;
    if (url.rfind("http://", 0) == 0) at = 7;
    else if (url.rfind("https://", 0) == 0) u.https = true, at = 8;
    else return bad();
    size_t end = url.find_first_of("/?#", at);
    std::string authority = url.substr(at, end == std::string::npos ? std::string::npos : end - at);
    u.path_query = end == std::string::npos ? "/" : url.substr(end);
    if (u.path_query[0] == '?') u.path_query.insert(0, "/");
    if (auto hash = u.path_query.find('#'); hash != std::string::npos) u.path_query.erase(hash);
    std::string port;
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string::npos) return bad();
        u.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return bad();
            port = authority.substr(close + 2);
        }
    } else {
        size_t colon = authority.rfind(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    u.port = u.https ? 443 : 80;
    if (!port.empty()) {
        unsigned n = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc() || p != port.data() + port.size() || n == 0 || n > 65535) return bad();
        u.port = static_cast<uint16_t>(n);
    }
    if (u.host.empty()) return bad();
    u.origin = url.substr(0, at) + authority;
    return u;
}

// One TLS context per CA file for the life of the process: loading a CA file (or the
// system store) for every request would cost more than the request.
Result<Poco::Net::Context::Ptr> tls_context(const std::string& ca_file) {
    static std::mutex mutex;
    static std::map<std::string, Poco::Net::Context::Ptr> contexts;
    std::lock_guard lock(mutex);
    if (auto it = contexts.find(ca_file); it != contexts.end()) return it->second;
    auto made = make_client_tls({ca_file, /*verify_peer=*/true, "", ""});
    if (!made) return made.error();
    contexts[ca_file] = made.value();
    return made.value();
}

// A session that knows whether its connection was made: a failure before that sent
// nothing, after it the request may have reached the HIS.
template <class Session>
class TrackedSession : public Session {
public:
    using Session::Session;
    std::optional<Clock::time_point> connected_at;
    Poco::Timespan connect_timeout;

protected:
    void connect(const Poco::Net::SocketAddress& address) override {
        Session::connect(address);
        if constexpr (std::is_same_v<Session, Poco::Net::HTTPSClientSession>) {
            // POCO may leave the TLS handshake to the first write; done here, a HIS that
            // never completes it is not reached, within the connect timeout.
            Poco::Net::SecureStreamSocket tls(this->socket());
            auto receive = tls.getReceiveTimeout(), send = tls.getSendTimeout();
            tls.setReceiveTimeout(connect_timeout);
            tls.setSendTimeout(connect_timeout);
            tls.completeHandshake();
            tls.setReceiveTimeout(receive);
            tls.setSendTimeout(send);
        }
        connected_at = Clock::now();
    }
};

// The socket's receive timeout set to what is left of the answer deadline, so the whole
// answer, not each read, is bounded by answer_timeout.
void bound_next_read(Poco::Net::HTTPClientSession& s, Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw Poco::TimeoutException("no whole answer within the answer timeout");
    s.socket().setReceiveTimeout(timespan(left));
}

Error classify(const Poco::Exception& e, bool connected, bool sent, const std::string& prefix, const std::string& where) {
    std::string why = where + ": " + e.displayText();
    if (!connected) {
        // The HIS's certificate or the handshake failed: reachable, but not usable.
        if (dynamic_cast<const Poco::Net::SSLException*>(&e) &&
            !dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&e))
            return make_error(ErrorClass::Unavailable, prefix + ".transport_failed", why);
        return make_error(ErrorClass::Unavailable, prefix + ".connect_failed", why);
    }
    if (dynamic_cast<const Poco::TimeoutException*>(&e)) return make_error(ErrorClass::Timeout, prefix + ".timeout", why);
    if (sent && (dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
                 dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) ||
                 dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e) ||
                 dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&e)))
        return make_error(ErrorClass::Timeout, prefix + ".answer_lost", why);
    return make_error(ErrorClass::Unavailable, prefix + ".transport_failed", why);
}

}  // namespace

std::string HttpAnswer::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    return {};
}

Result<HttpAnswer> http_exchange(const HttpOptions& o, const HttpRequest& r) {
    const std::string& prefix = o.code_prefix;
    auto url = parse_url(r.url, prefix);
    if (!url) return url.error();
    std::string where = r.method + " " + url->origin;

    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    const std::optional<Clock::time_point>* connected_at = nullptr;
    if (url->https) {
        auto tls = tls_context(o.ca_file);
        if (!tls) return make_error(ErrorClass::Unavailable, prefix + ".transport_failed", where + ": " + tls.error().message);
        auto s = std::make_unique<TrackedSession<Poco::Net::HTTPSClientSession>>(url->host, url->port, tls.value());
        s->connect_timeout = timespan(o.connect_timeout);
        connected_at = &s->connected_at;
        session = std::move(s);
    } else {
        auto s = std::make_unique<TrackedSession<Poco::Net::HTTPClientSession>>(url->host, url->port);
        connected_at = &s->connected_at;
        session = std::move(s);
    }
    // One connection per exchange: a kept-alive one could be resent on by POCO after a
    // failed write, and a request must never go twice without the adapter deciding so.
    session->setKeepAlive(false);
    session->setTimeout(timespan(o.connect_timeout), timespan(o.answer_timeout), timespan(o.answer_timeout));

    Poco::Net::HTTPRequest request(r.method, url->path_query, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!r.request_id.empty()) request.set("X-Request-Id", r.request_id);
    for (const auto& [k, v] : r.headers) request.set(k, v);
    if (!o.auth_header.empty()) request.set(o.auth_header, o.auth_value);
    if (r.method == "POST") request.setContentLength(static_cast<std::streamsize>(r.body.size()));

    bool sent = false;
    try {
        std::ostream& out = session->sendRequest(request);
        auto deadline = **connected_at + o.answer_timeout;
        if (r.method == "POST") out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
        out.flush();
        if (const auto* e = session->networkException()) e->rethrow();
        if (!out) throw Poco::Net::NetException("the request could not be written");
        sent = true;

        Poco::Net::HTTPResponse response;
        bound_next_read(*session, deadline);
        std::istream& in = session->receiveResponse(response);
        HttpAnswer answer;
        answer.status = response.getStatus();
        for (const auto& [k, v] : response) answer.headers.emplace_back(k, v);
        char buf[8192];
        auto whole = [&] {
            return response.hasContentLength() &&
                   static_cast<std::streamsize>(answer.body.size()) >= response.getContentLength();
        };
        // peek() reads from the connection at most once, readsome() only what that brought:
        // each read gets what is left of the deadline (read() would wait for a full buffer).
        while (!whole()) {
            bound_next_read(*session, deadline);
            if (in.peek() == std::char_traits<char>::eof()) break;
            answer.body.append(buf, static_cast<size_t>(in.readsome(buf, sizeof buf)));
            if (answer.body.size() > kMaxAnswerBytes)
                return make_error(ErrorClass::Protocol, prefix + ".answer_too_large",
                                  where + ": the answer is over " + std::to_string(kMaxAnswerBytes) + " bytes");
        }
        if (const auto* e = session->networkException()) e->rethrow();
        // POCO's body streams end quietly at a close: a short body is a lost answer.
        if (in.bad() || (response.hasContentLength() && !whole()))
            throw Poco::Net::NoMessageException("the connection closed before the whole answer");
        return answer;
    } catch (const Poco::Exception& e) {
        return classify(e, connected_at->has_value(), sent, prefix, where);
    }
}

std::string path_segment(std::string_view text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

Result<HisClockReading> read_http_clock(const HttpOptions& o, const std::string& url) {
    using Clock = std::chrono::system_clock;
    auto sent = Clock::now();
    auto answer = http_exchange(o, {"GET", url, "", "", {}});
    auto received = Clock::now();
    if (!answer) return answer.error();
    auto unreadable = [&](const std::string& why) {
        return make_error(ErrorClass::Protocol, o.code_prefix + ".no_date", "the answer to GET " + url + " " + why);
    };
    std::string date = answer->header("Date");
    if (date.empty()) return unreadable("has no Date header");
    Poco::DateTime his;
    int zone_offset = 0;
    if (!Poco::DateTimeParser::tryParse(date, his, zone_offset))
        return unreadable("has a Date header \"" + date + "\" that is not an HTTP date");
    his.makeUTC(zone_offset);
    return HisClockReading{Clock::from_time_t(his.timestamp().epochTime()), sent + (received - sent) / 2,
                           "HTTP Date \"" + date + "\" of its answer", false};
}

}  // namespace hisgate::http
