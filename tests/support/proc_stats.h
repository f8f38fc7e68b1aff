// What the kernel says a process costs right now (/proc/PID/status and /proc/PID/stat):
// resident memory, threads, CPU time. Benchmarks sample it to put the cost of each
// process beside their figures.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hisgate::test {

struct ProcStats {
    double rss_mb = 0, hwm_mb = 0;  // VmRSS, VmHWM
    int threads = 0;
    long cpu_ticks = 0;  // utime + stime, in sysconf(_SC_CLK_TCK) ticks
};

// nullopt when the process is gone.
std::optional<ProcStats> proc_stats(pid_t pid);

// /proc/loadavg's first three fields ("1.20 0.80 0.41").
std::string loadavg();

// CPU of each watched process over one stretch of a benchmark (a row): begin(), then end().
// Processes watched under one name are summed (several agent processes as "agents").
class CpuMeter {
public:
    void watch(std::string name, pid_t pid) { procs_.push_back({std::move(name), pid, 0}); }
    void begin();
    // Each name's CPU seconds since begin(), and in `elapsed` the seconds that passed.
    std::map<std::string, double> end(double& elapsed);

private:
    struct Proc {
        std::string name;
        pid_t pid;
        long ticks;
    };
    std::vector<Proc> procs_;
    std::chrono::steady_clock::time_point t0_;
};

// "name=P%/Tus ...": each name's CPU as % of one core over `elapsed` and per unit of work
// (`units`, e.g. the requests sent); on a shared machine the CPU a request costs moves less
// than the throughput.
std::string cpu_report(const std::map<std::string, double>& cpu_seconds, double elapsed, uint64_t units);

}  // namespace hisgate::test
