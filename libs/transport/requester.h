// MQTT 5 request/response: each request carries a response topic and fresh correlation
// data. A reply is accepted only when all three match: its correlation data, the topic it
// came on (exactly the response topic the request named, which lies in the subtree of the
// hospital the request went to, and the broker ACL lets only that hospital publish
// there), and its in_reply_to (the request id). Anything else is refused, counted and
// logged, and the request keeps waiting for its real answer: another hospital that learnt
// the correlation data cannot answer for this one. A reply that arrives after its request
// timed out, or a QoS 1 duplicate of one already delivered, is dropped: a request
// completes at most once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate {

class Requester {
public:
    explicit Requester(MqttLink& link) : link_(link) {}

    // Feed every message that arrives on the response topic here.
    void deliver(const IncomingMessage& msg);
    // The same, for a message whose payload the caller has parsed already (`reply`, from
    // msg.payload): it is not parsed again.
    void deliver(const IncomingMessage& msg, Envelope reply);

    // Publishes `request` to `topic`, naming `response_topic` for the reply, and waits for
    // it. The request expires in the broker after `timeout`, so an agent that reconnects
    // later never acts on it. A Timeout error means the request may have reached the agent
    // (the broker did not confirm it in time, or no reply came); any other class means it
    // never left (not connected, refused by the broker): no reply will ever come.
    Result<Envelope> request(const std::string& topic, const std::string& response_topic, const Envelope& request,
                             std::chrono::milliseconds timeout);

    // Publishes a copy of a request sent before (same id) with fresh correlation data, and
    // waits for nothing: its answer, whichever copy brings it, the caller reads where every
    // answer is kept (a reply to this copy finds no one waiting and is dropped here).
    Result<void> send_again(const std::string& topic, const std::string& response_topic, const Envelope& request,
                            std::chrono::milliseconds expiry);

    size_t in_flight() const;

private:
    struct Slot {
        std::string response_topic;  // the only topic the reply may come on
        std::string request_id;      // the reply's in_reply_to
        bool done = false;
        std::optional<Result<Envelope>> reply;
        // Its own, so a reply wakes the one caller waiting for it, not every caller (with
        // dozens in flight, waking all of them on each reply cost more than the reply).
        std::condition_variable cv;
    };

    void deliver(const IncomingMessage& msg, Result<Envelope> reply);

    MqttLink& link_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<Slot>> pending_;
};

}  // namespace hisgate
