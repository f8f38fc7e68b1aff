// Runs a program and collects its standard output, bounded in time and size: the agent
// runs its own doctor this way when the control plane asks (a check that hangs or crashes
// takes only its own process with it). The child gets no stdin; its stderr is discarded.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate {

struct SubprocessResult {
    int exit_status = -1;  // the program's exit status; 128 + n when signal n ended it
    std::string output;    // its stdout, at most max_output bytes
};

// Errors: Internal "subprocess.spawn" (it could not start), Timeout "subprocess.timeout"
// (killed with SIGKILL after `timeout`), Protocol "subprocess.too_much_output" (killed
// once its output passed `max_output`).
Result<SubprocessResult> run_subprocess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                        std::size_t max_output, const Clock& clock = SystemClock::instance());

}  // namespace hisgate
