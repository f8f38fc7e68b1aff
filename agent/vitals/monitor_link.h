// The gateway's connection to one monitor: a TCP client that reads the monitor's MLLP
// stream, parses each frame (oru_parser.h) and hands the records to the store, on a thread
// of its own so a monitor that misbehaves never holds up another.
//
// States: connecting (no connection yet, or trying again), connected (data flowing),
// stale (connected, nothing for vitals.stale_after), lost (the connection failed or was
// given up: nothing for vitals.lost_after is a stalled connection, closed and tried again).
// Reconnects back off exponentially with jitter (vitals.reconnect_backoff_*), from the
// minimum again once data flowed; a new announcement with another address or port (a
// monitor rebooted onto a new port) ends the current connection and connects to the new
// address at once.
//
// Bounded: a frame larger than vitals.max_frame_bytes (or one that never ends) is never
// held whole: it is dropped and the connection reset; bytes outside frames are counted and
// skipped; a monitor sending more than kMaxMessagesPerSecond has the excess dropped.
// Duplicates (an MSH-10 seen among the connection's last kRecentControlIds) are dropped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "agent/vitals/announcement.h"
#include "agent/vitals/drop_log.h"
#include "agent/vitals/vitals_settings.h"
#include "agent/vitals/vitals_store.h"
#include "common/clock.h"

namespace hisgate::vitals {

inline constexpr int kMaxMessagesPerSecond = 50;
inline constexpr std::size_t kRecentControlIds = 64;

enum class MonitorState { Connecting, Connected, Stale, Lost };
const char* to_string(MonitorState s);

struct MonitorStatus {
    std::string device, model, ward, bed, address;
    uint16_t port = 0;
    Interface interface = Interface::Unsolicited;
    MonitorState state = MonitorState::Connecting;
    int64_t last_sample_ms = 0;  // the device time of the latest sample; 0 = none yet
    int64_t connections = 0;     // connections made so far
    int64_t messages = 0;        // messages taken (parsed, not dropped)
};

class MonitorLink {
public:
    MonitorLink(const VitalsSettings& settings, Announcement announced, VitalsStore& store, DropLog& drops, Clock& clock);
    ~MonitorLink();
    MonitorLink(const MonitorLink&) = delete;
    MonitorLink& operator=(const MonitorLink&) = delete;

    void start();
    void stop();
    // A new announcement of this device: takes its bed and model; another address or port
    // ends the current connection and connects there at once.
    void announced(const Announcement& a);
    MonitorStatus status() const;

private:
    void run();
    // Serves one open connection until it ends; returns whether data flowed on it.
    bool serve(class ConnectionIo& io);
    void handle_frame(const std::string& payload, int64_t& window_start_ms, int& window_count);
    void set_state(MonitorState s);
    bool interrupted() const;  // stopping, or retargeted (mu_ held)

    const VitalsSettings& settings_;
    VitalsStore& store_;
    DropLog& drops_;
    Clock& clock_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    Announcement target_;
    bool retarget_ = false;
    bool stopping_ = false;
    MonitorStatus status_;
    std::deque<std::string> recent_ids_;  // the connection's last control ids (its thread only)
    std::mt19937 rng_;
    std::thread thread_;
};

}  // namespace hisgate::vitals
