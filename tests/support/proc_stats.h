// What the kernel says a process costs right now (/proc/PID/status and /proc/PID/stat):
// resident memory, threads, CPU time. Benchmarks sample it to put the cost of each
// process beside their figures.
#pragma once

#include <sys/types.h>

#include <optional>

namespace hisgate::test {

struct ProcStats {
    double rss_mb = 0, hwm_mb = 0;  // VmRSS, VmHWM
    int threads = 0;
    long cpu_ticks = 0;  // utime + stime, in sysconf(_SC_CLK_TCK) ticks
};

// nullopt when the process is gone.
std::optional<ProcStats> proc_stats(pid_t pid);

}  // namespace hisgate::test
