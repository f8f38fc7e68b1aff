#include "monitor-sim/announcer.h"

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace hisgate::monitor_sim {

struct Announcer::Socket {
    Poco::Net::DatagramSocket udp;
};

std::string announcement(const SimMonitor& m) {
    const auto& who = m.who();
    return nlohmann::json{{"v", 1}, {"device", who.device_id}, {"model", who.model}, {"ward", who.ward},
                          {"bed", who.bed}, {"address", m.listen_address()}, {"port", m.port()}}
        .dump();
}

Announcer::Announcer(AnnouncerOptions options, std::vector<SimMonitor*> monitors)
    : options_(std::move(options)), monitors_(std::move(monitors)) {}

Announcer::~Announcer() { stop(); }

Result<void> Announcer::start() {
    try {
        socket_ = std::make_unique<Socket>();
        socket_->udp.bind(Poco::Net::SocketAddress(options_.source, 0), false);
        socket_->udp.setBroadcast(true);
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "monitor.announce_socket",
                          "cannot send announcements from " + options_.source + ": " + e.displayText());
    }
    thread_ = std::thread([this] { run(); });
    return {};
}

void Announcer::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Announcer::now() {
    {
        std::lock_guard lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

uint64_t Announcer::sent() const {
    std::lock_guard lock(mu_);
    return sent_;
}

void Announcer::run() {
    Poco::Net::SocketAddress to(options_.target, options_.port);
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        uint64_t n = 0;
        for (auto* m : monitors_) {
            if (m->port() == 0) continue;  // rebooting: nothing to announce
            auto text = announcement(*m);
            try {
                socket_->udp.sendTo(text.data(), static_cast<int>(text.size()), to);
                ++n;
            } catch (const Poco::Exception& e) {
                log::warn("monitor.announce_failed", {{"device", m->who().device_id}, {"error", e.displayText()}});
            }
        }
        lock.lock();
        sent_ += n;
        cv_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
        woken_ = false;
    }
}

}  // namespace hisgate::monitor_sim
