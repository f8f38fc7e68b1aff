// One simulated bedside monitor: listens on its own TCP port, serves the gateway's
// connection (the newest one; a new connection replaces the old, as a monitor that was
// rebooted or reconnected to would), and sends a result every period, an alarm every
// alarm_every results, and whatever faults it is told (monitor_faults.h).
//
// One thread per monitor does everything (accept, send, faults), so its messages are in
// the order it built them except where a fault says otherwise.
#pragma once

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/error.h"
#include "monitor-sim/monitor_faults.h"
#include "monitor-sim/oru_builder.h"
#include "monitor-sim/vital_values.h"

namespace hisgate::monitor_sim {

struct MonitorOptions {
    MonitorIdentity who;
    std::string listen_address = "127.0.0.1";
    uint64_t seed = 1;
    std::chrono::milliseconds period{1000};  // one result per period (1 Hz)
    int alarm_every = 0;                     // an alarm after every Nth result; 0 = on command only
};

class SimMonitor {
public:
    // `announce_now` is called after a reboot brought the monitor back on a new port.
    SimMonitor(MonitorOptions options, std::function<void()> announce_now);
    ~SimMonitor();
    SimMonitor(const SimMonitor&) = delete;
    SimMonitor& operator=(const SimMonitor&) = delete;

    Result<void> start();
    void stop();
    void command(const FaultCommand& f);

    const MonitorIdentity& who() const { return options_.who; }
    const std::string& listen_address() const { return options_.listen_address; }
    // 0 while rebooting.
    uint16_t port() const { return port_.load(); }
    // {"device", "model", "bed", "interface", "port", "connected", "connections", "results", "alarms"}
    nlohmann::json status() const;

private:
    void run();
    Result<void> listen();
    void accept_waiting();
    void apply(const FaultCommand& f);
    void send_result();
    void send_alarm(const Alarm& a);
    bool write(const std::string& bytes);  // false: the connection broke (and is dropped)
    void drop_connection();

    MonitorOptions options_;
    std::function<void()> announce_now_;
    VitalValues values_;
    std::optional<Poco::Net::ServerSocket> listener_;
    std::optional<Poco::Net::StreamSocket> conn_;
    std::atomic<uint16_t> port_{0};
    std::atomic<bool> connected_{false};
    std::atomic<int64_t> connections_{0}, results_{0}, alarms_{0};

    mutable std::mutex mu_;
    std::deque<FaultCommand> commands_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;

    // The sender's state (its thread only).
    int64_t control_id_ = 0;
    int64_t skew_seconds_ = 0;
    bool stalled_ = false, endless_ = false, duplicate_next_ = false, out_of_order_next_ = false;
    Spoil spoil_next_;
    std::optional<std::string> held_;  // out of order: a result held back to follow the next
    std::optional<std::chrono::steady_clock::time_point> down_until_;
    std::chrono::steady_clock::time_point next_send_{};
};

}  // namespace hisgate::monitor_sim
