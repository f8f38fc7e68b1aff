// Receives the monitors' UDP announcements on vitals.discovery.bind:port and hands each
// admitted one to `on_announcement`. An announcement is admitted only when its sender and
// the address it announces are both inside the ward networks (so no datagram can point the
// agent at a host elsewhere); the others, and datagrams that are not announcements, are
// dropped, counted (hisgate_vitals_announcements_total{outcome}) and logged at most once a
// minute (DropLog).
//
// One thread; a datagram is read into a buffer of kMaxAnnouncementBytes + 1, so a larger
// one is seen as too large without ever being held whole.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "agent/vitals/announcement.h"
#include "agent/vitals/drop_log.h"
#include "agent/vitals/vitals_settings.h"
#include "common/error.h"

namespace hisgate::vitals {

// The socket's receive buffer asked for: about 5,000 announcements queued at once (each
// costs the kernel about 800 bytes), the ConnectionManager's 10,000 monitors announcing
// every 2 s or more.
inline constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

class DiscoveryListener {
public:
    using OnAnnouncement = std::function<void(const Announcement&)>;
    DiscoveryListener(const VitalsSettings& settings, DropLog& drops, OnAnnouncement on_announcement);
    ~DiscoveryListener();

    // Binds the socket (errors: Unavailable "vitals.discovery_bind") and starts the thread.
    Result<void> start();
    void stop();
    uint16_t port() const;  // the bound port

private:
    void run();
    const VitalsSettings& settings_;
    DropLog& drops_;
    OnAnnouncement on_announcement_;
    struct Socket;
    std::unique_ptr<Socket> socket_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace hisgate::vitals
