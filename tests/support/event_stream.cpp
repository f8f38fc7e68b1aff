#include "tests/support/event_stream.h"

#include <Poco/Net/HTTPRequest.h>

#include <istream>

namespace hisgate::test {

EventStream::EventStream(uint16_t port, const std::string& path, const std::map<std::string, std::string>& headers,
                         Handler on_event)
    : session_("127.0.0.1", port) {
    session_.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) req.set(name, value);
    session_.sendRequest(req);
    auto& in = session_.receiveResponse(response_);
    thread_ = std::thread([this, &in, on_event = std::move(on_event)] {
        std::string line, event;
        try {
            while (!stop_ && std::getline(in, line)) {
                if (line.rfind("event: ", 0) == 0) event = line.substr(7);
                else if (line.rfind("data: ", 0) == 0) on_event(event, line.substr(6));
            }
        } catch (const std::exception&) {
        }
        if (!stop_) ended_ = true;
    });
}

EventStream::~EventStream() {
    stop_ = true;
    session_.abort();
    if (thread_.joinable()) thread_.join();
}

}  // namespace hisgate::test
