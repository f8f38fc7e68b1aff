#include "agent/vitals/discovery_listener.h"

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

struct DiscoveryListener::Socket {
    Poco::Net::DatagramSocket udp;
};

namespace {
void count(const char* outcome) {
    metrics::global()
        .counter("hisgate_vitals_announcements_total", "Monitor announcements received, by what became of them",
                 {{"outcome", outcome}})
        .inc();
}
}  // namespace

DiscoveryListener::DiscoveryListener(const VitalsSettings& settings, DropLog& drops, OnAnnouncement on_announcement)
    : settings_(settings), drops_(drops), on_announcement_(std::move(on_announcement)) {}

DiscoveryListener::~DiscoveryListener() { stop(); }

Result<void> DiscoveryListener::start() {
    try {
        socket_ = std::make_unique<Socket>();
        // Reuse: several gateways on one test machine (or a restart) may share the port.
        socket_->udp.bind(Poco::Net::SocketAddress(settings_.discovery_bind, settings_.discovery_port), true, true);
        socket_->udp.setBroadcast(true);
        // Room for a whole ward's announcements at once: monitors announce in bursts (a
        // ward powered on together; a simulator announcing all its monitors in one loop),
        // and a datagram that finds the buffer full is lost without a trace. With the
        // default (212 KB, about 270 announcements) 2,000 monitors announced together had
        // only about 500 ever heard (bench/vitals, 2026-12-07). The kernel caps the size at
        // net.core.rmem_max; the listener works with whatever it grants.
        socket_->udp.setReceiveBufferSize(kReceiveBufferBytes);
    } catch (const Poco::Exception& e) {
        socket_.reset();
        return make_error(ErrorClass::Unavailable, "vitals.discovery_bind",
                          "cannot receive announcements on " + settings_.discovery_bind + ":" +
                              std::to_string(settings_.discovery_port) + ": " + e.displayText());
    }
    log::info("vitals.discovery_listening", {{"bind", settings_.discovery_bind}, {"port", port()},
                                             {"ward_networks", settings_.ward_network_text}});
    thread_ = std::thread([this] { run(); });
    return {};
}

void DiscoveryListener::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

uint16_t DiscoveryListener::port() const { return socket_ ? socket_->udp.address().port() : 0; }

void DiscoveryListener::run() {
    char buffer[kMaxAnnouncementBytes + 1];
    while (!stopping_) {
        Poco::Net::SocketAddress from;
        int n = 0;
        try {
            if (!socket_->udp.poll(Poco::Timespan(0, 200000), Poco::Net::Socket::SELECT_READ)) continue;
            n = socket_->udp.receiveFrom(buffer, sizeof buffer, from);
        } catch (const Poco::Exception& e) {
            log::warn("vitals.discovery_receive_failed", {{"error", e.displayText()}});
            continue;
        }
        if (n <= 0) continue;
        std::string sender = from.host().toString();
        if (!admitted(settings_.ward_networks, sender)) {
            count("not_ward_network");
            drops_.drop("announcement_not_ward_network", {{"sender", sender}});
            continue;
        }
        auto a = parse_announcement(std::string_view(buffer, static_cast<std::size_t>(n)));
        if (!a) {
            count("bad");
            drops_.drop("bad_announcement", {{"sender", sender}, {"error", a.error().describe()}});
            continue;
        }
        if (!admitted(settings_.ward_networks, a->address)) {
            count("not_ward_network");
            drops_.drop("announcement_not_ward_network", {{"sender", sender}, {"announced", a->address}, {"device", a->device}});
            continue;
        }
        count("admitted");
        on_announcement_(a.value());
    }
}

}  // namespace hisgate::vitals
