// One MonitorLink per announced device: the first admitted announcement of a device starts
// its link, later ones keep its target current (a reboot onto a new port is followed).
// At most kMaxMonitors devices; announcements of further ones are dropped and counted.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "agent/vitals/monitor_link.h"

namespace hisgate::vitals {

inline constexpr std::size_t kMaxMonitors = 10000;

class ConnectionManager {
public:
    ConnectionManager(const VitalsSettings& settings, VitalsStore& store, DropLog& drops, Clock& clock)
        : settings_(settings), store_(store), drops_(drops), clock_(clock) {}
    ~ConnectionManager() { stop(); }

    void on_announcement(const Announcement& a);
    std::vector<MonitorStatus> monitors() const;
    void stop();  // stops every link; later announcements are ignored

private:
    const VitalsSettings& settings_;
    VitalsStore& store_;
    DropLog& drops_;
    Clock& clock_;
    mutable std::mutex mu_;
    bool stopped_ = false;
    std::map<std::string, std::unique_ptr<MonitorLink>> links_;  // by device id
};

}  // namespace hisgate::vitals
