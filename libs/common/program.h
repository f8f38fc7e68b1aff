// What every hisgate program does at start and stop: read `--config FILE` / `--help` /
// `--version`, and wait for SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

#include "common/config.h"

namespace hisgate {

// Reads `--config FILE` / `--help` / `--version` and loads FILE. `config` is empty when the
// program must leave at once with `exit_status`: 0 after --help or --version, 2 on bad
// arguments or a file that cannot be read or parsed (the reason printed on stderr, prefixed
// with `name`).
struct ProgramStart {
    std::optional<ConfigReader> config;
    std::string config_file;  // FILE, as given
    int exit_status = 0;
};
ProgramStart start_program(int argc, char** argv, const std::string& name, const std::string& usage);

// Prints "<name> <version>" (common/version.h) on stdout.
void print_version(const std::string& name);

// Prints "<name>: invalid configuration:" and every problem; returns 2, the exit status.
int invalid_config(const std::string& name, const Error& error);

// Blocks SIGINT/SIGTERM/SIGHUP in every thread (call first thing in main, before any thread
// starts) so that wait_for_shutdown() can take them.
void block_shutdown_signals();
// Waits until SIGINT or SIGTERM arrives; returns the signal number. A SIGHUP meanwhile
// reopens the log file (log::reopen: `systemctl reload`, logrotate's postrotate) and waits on.
int wait_for_shutdown();

}  // namespace hisgate
