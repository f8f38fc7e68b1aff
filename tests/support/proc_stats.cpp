#include "tests/support/proc_stats.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace hisgate::test {

std::optional<ProcStats> proc_stats(pid_t pid) {
    ProcStats s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return std::nullopt;
    std::string line;
    while (std::getline(status, line)) {
        std::istringstream in(line);
        std::string key;
        double value = 0;
        in >> key >> value;
        if (key == "VmRSS:") s.rss_mb = value / 1024;  // kB
        else if (key == "VmHWM:") s.hwm_mb = value / 1024;
        else if (key == "Threads:") s.threads = static_cast<int>(value);
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    // Fields after the name start at 3 (state); utime and stime are fields 14 and 15.
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    long utime = 0, stime = 0;
    rest >> utime >> stime;
    s.cpu_ticks = utime + stime;
    return s;
}

std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

namespace {
long ticks_of(pid_t pid) {
    auto s = pid > 0 ? proc_stats(pid) : std::nullopt;
    return s ? s->cpu_ticks : 0;
}
}  // namespace

void CpuMeter::begin() {
    t0_ = std::chrono::steady_clock::now();
    for (auto& p : procs_) p.ticks = ticks_of(p.pid);
}

std::map<std::string, double> CpuMeter::end(double& elapsed) {
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::map<std::string, double> by_name;
    for (auto& p : procs_) by_name[p.name] += static_cast<double>(ticks_of(p.pid) - p.ticks) / hz;
    return by_name;
}

std::string cpu_report(const std::map<std::string, double>& cpu_seconds, double elapsed, uint64_t units) {
    std::string out;
    for (const auto& [name, secs] : cpu_seconds) {
        char line[128];
        std::snprintf(line, sizeof line, "%s%s=%.0f%%/%.0fus", out.empty() ? "" : " ", name.c_str(), 100 * secs / elapsed,
                      units ? 1e6 * secs / static_cast<double>(units) : 0.0);
        out += line;
    }
    return out;
}

}  // namespace hisgate::test
