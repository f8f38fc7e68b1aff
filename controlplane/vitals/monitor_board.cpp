#include "controlplane/vitals/monitor_board.h"

#include <algorithm>

namespace hisgate::controlplane::vitals {

namespace {
// A hospital reports at most this many monitors (a report beyond it is cut: bounded memory).
constexpr std::size_t kMaxMonitorsPerHospital = 5000;
}  // namespace

void MonitorBoard::take_report(const std::string& hospital_id, const std::vector<MonitorReport>& monitors) {
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(mu_);
    auto& known = hospitals_[hospital_id];
    for (const auto& m : monitors) {
        if (known.size() >= kMaxMonitorsPerHospital && !known.count(m.device)) continue;
        auto& v = known[m.device];
        v.report = m;
        v.last_report_ms = now;
    }
}

void MonitorBoard::take_samples(const std::string& hospital_id, const std::vector<VitalSample>& samples) {
    if (samples.empty()) return;
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(mu_);
    auto& known = hospitals_[hospital_id];
    for (const auto& s : samples) {
        if (known.size() >= kMaxMonitorsPerHospital && !known.count(s.device)) continue;
        auto& v = known[s.device];
        if (v.report.device.empty()) v.report.device = s.device, v.report.bed = s.bed;
        v.last_sample_ms = now;
    }
}

MonitorView MonitorBoard::view(const MonitorView& stored, int64_t now) const {
    MonitorView v = stored;
    const int64_t silent = silent_after_.count();
    if (v.last_report_ms == 0) v.reason = "no report";
    else if (now - v.last_report_ms > silent) v.reason = "no report from the agent";
    else if (v.report.state != "connected") v.reason = "agent says " + v.report.state;
    else if (v.last_sample_ms == 0 || now - v.last_sample_ms > silent) v.reason = "silent";
    v.online = v.reason.empty();
    return v;
}

std::vector<MonitorView> MonitorBoard::monitors(const std::string& hospital_id) const {
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(mu_);
    std::vector<MonitorView> out;
    auto it = hospitals_.find(hospital_id);
    if (it == hospitals_.end()) return out;
    for (const auto& [device, stored] : it->second) out.push_back(view(stored, now));
    std::sort(out.begin(), out.end(), [](const MonitorView& a, const MonitorView& b) {
        return std::tie(a.report.bed, a.report.device) < std::tie(b.report.bed, b.report.device);
    });
    return out;
}

std::string MonitorBoard::ward_of(const std::string& hospital_id, const std::string& bed) const {
    std::lock_guard lock(mu_);
    auto it = hospitals_.find(hospital_id);
    if (it == hospitals_.end()) return "";
    for (const auto& [device, v] : it->second)
        if (v.report.bed == bed && !v.report.ward.empty()) return v.report.ward;
    return "";
}

std::vector<std::pair<std::string, MonitorView>> MonitorBoard::changes() {
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, MonitorView>> out;
    for (const auto& [hospital, devices] : hospitals_)
        for (const auto& [device, stored] : devices) {
            auto v = view(stored, now);
            auto [shown, added] = shown_[hospital].try_emplace(device, v.online);
            if (added || shown->second != v.online) {
                shown->second = v.online;
                out.emplace_back(hospital, std::move(v));
            }
        }
    return out;
}

}  // namespace hisgate::controlplane::vitals
