// What every hisgate program does at start and stop: read `--config FILE` / `--help`,
// and wait for SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

namespace hisgate {

// Returns the config path, or the exit status to leave with (0 after --help, 2 on bad
// arguments, with the message printed).
struct ProgramArgs {
    std::string config_path;
    std::optional<int> exit_status;
};
ProgramArgs parse_program_args(int argc, char** argv, const std::string& usage);

// Blocks SIGINT/SIGTERM in every thread (call first thing in main, before any thread
// starts) so that wait_for_shutdown() can take them.
void block_shutdown_signals();
// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_shutdown();

}  // namespace hisgate
