#include "tests/support/proc_stats.h"

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

}  // namespace hisgate::test
