// The monitors' UDP announcements: every interval, one datagram per monitor that is up,
// to the discovery address (a broadcast address such as 127.255.255.255 or
// 255.255.255.255, or one host) and port, sent from `source` (so a test can announce
// from an address outside the gateway's ward networks).
//
// The datagram is one JSON object, at most 512 bytes (docs/monitor-sim.md):
//   {"v": 1, "device": "MON-0001", "model": "PM-9000", "ward": "ICU", "bed": "BED-001",
//    "address": "127.0.0.1", "port": 40123}
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "monitor-sim/sim_monitor.h"

namespace hisgate::monitor_sim {

struct AnnouncerOptions {
    std::string target = "127.255.255.255";
    uint16_t port = 4601;
    std::string source = "127.0.0.1";
    std::chrono::milliseconds interval{2000};
};

// The announcement of one monitor.
std::string announcement(const SimMonitor& m);

class Announcer {
public:
    Announcer(AnnouncerOptions options, std::vector<SimMonitor*> monitors);
    ~Announcer();
    Result<void> start();
    void stop();
    void now();  // announce at once (after a reboot)
    uint64_t sent() const;

private:
    void run();
    AnnouncerOptions options_;
    std::vector<SimMonitor*> monitors_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false, woken_ = false;
    uint64_t sent_ = 0;
    struct Socket;
    std::unique_ptr<Socket> socket_;
    std::thread thread_;
};

}  // namespace hisgate::monitor_sim
