// A Server-Sent Events stream (the control plane's live feeds, e.g. the ward feed) read over
// a real socket on its own thread: each event's name and data are handed to `on_event` as
// they arrive, on that thread. Tests keep what they need; benchmarks time each arrival.
#pragma once

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace hisgate::test {

class EventStream {
public:
    using Handler = std::function<void(const std::string& event, const std::string& data)>;
    // GET http://127.0.0.1:port/path with `headers`; the response's head is read before this
    // returns (status() and content_type() are known), the events afterwards.
    EventStream(uint16_t port, const std::string& path, const std::map<std::string, std::string>& headers, Handler on_event);
    ~EventStream();
    EventStream(const EventStream&) = delete;
    EventStream& operator=(const EventStream&) = delete;

    int status() const { return response_.getStatus(); }
    std::string content_type() const { return response_.getContentType(); }
    // The server ended the stream (or it broke) before this side closed it.
    bool ended() const { return ended_.load(); }

private:
    Poco::Net::HTTPClientSession session_;
    Poco::Net::HTTPResponse response_;
    std::atomic<bool> stop_{false}, ended_{false};
    std::thread thread_;
};

}  // namespace hisgate::test
