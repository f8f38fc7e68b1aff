#include "common/process_metrics.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/version.h"

namespace hisgate::metrics {

namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
// hence the search for the last ')'). fields[0] is field 3 (state) of proc(5).
std::vector<std::string> stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(line.substr(close + 1));
    for (std::string f; rest >> f;) fields.push_back(f);
    return fields;
}

// proc(5) field number n (1-based) from stat_fields(); 0 when absent.
double stat_field(const std::vector<std::string>& fields, size_t n) {
    if (n < 3 || n - 3 >= fields.size()) return 0;
    try {
        return std::stod(fields[n - 3]);
    } catch (const std::exception&) {
        return 0;
    }
}

// The machine's boot time (seconds since the epoch), from /proc/stat's btime.
double boot_time() {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime") {
            double t = 0;
            in >> t;
            return t;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

double soft_fd_limit() {
    std::ifstream in("/proc/self/limits");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Max open files", 0) != 0) continue;
        std::istringstream values(line.substr(14));
        std::string soft;
        values >> soft;
        try {
            return std::stod(soft);
        } catch (const std::exception&) {
            return 0;
        }
    }
    return 0;
}

}  // namespace

void publish_build_info(std::string_view revision, Registry& registry) {
    registry
        .gauge("hisgate_build_info", "The program's version and the commit it was built from (always 1)",
               {{"version", std::string(version())}, {"revision", std::string(revision)}})
        .set(1);
}

void refresh_process_figures(Registry& registry) {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    static const double started = [] { return boot_time() + stat_field(stat_fields(), 22) / ticks; }();

    // Scrapes may run at once; the counter is moved up to the figure under this lock.
    static std::mutex mu;
    std::lock_guard lock(mu);
    auto fields = stat_fields();
    if (!fields.empty()) {
        auto& cpu = registry.counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds");
        double spent = (stat_field(fields, 14) + stat_field(fields, 15)) / ticks;
        if (spent > cpu.value()) cpu.inc(spent - cpu.value());
        registry.gauge("process_virtual_memory_bytes", "Virtual memory size, in bytes").set(stat_field(fields, 23));
        registry.gauge("process_resident_memory_bytes", "Resident memory size, in bytes").set(stat_field(fields, 24) * page);
    }
    registry.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds").set(started);
    std::error_code ec;
    double open = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++open;
    if (!ec) registry.gauge("process_open_fds", "Open file descriptors").set(open);
    if (double limit = soft_fd_limit(); limit > 0)
        registry.gauge("process_max_fds", "The limit of open file descriptors").set(limit);
}

}  // namespace hisgate::metrics
