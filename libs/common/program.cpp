#include "common/program.h"

#include <csignal>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "common/version.h"

namespace hisgate {

void print_version(const std::string& name) {
    std::printf("%s %.*s\n", name.c_str(), static_cast<int>(version().size()), version().data());
}

ProgramStart start_program(int argc, char** argv, const std::string& name, const std::string& usage) {
    ProgramStart out;
    out.exit_status = 2;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("%s", usage.c_str());
            out.exit_status = 0;
            return out;
        }
        if (!std::strcmp(argv[i], "--version")) {
            print_version(name);
            out.exit_status = 0;
            return out;
        }
        if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
            continue;
        }
        std::fprintf(stderr, "%s: unexpected argument '%s' (expected --config FILE, --help or --version)\n", name.c_str(), argv[i]);
        return out;
    }
    if (path.empty()) {
        std::fprintf(stderr, "%s: --config FILE is required\n\n%s", name.c_str(), usage.c_str());
        return out;
    }
    auto loaded = ConfigReader::load_file(path);
    if (!loaded) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), loaded.error().message.c_str());
        return out;
    }
    out.config = std::move(loaded.value());
    out.config_file = path;
    out.exit_status = 0;
    return out;
}

int invalid_config(const std::string& name, const Error& error) {
    std::fprintf(stderr, "%s: invalid configuration:\n%s\n", name.c_str(), error.message.c_str());
    return 2;
}

namespace {
sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);  // not a shutdown: the log file is reopened (logrotate)
    return set;
}
}  // namespace

void block_shutdown_signals() {
    sigset_t set = shutdown_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

int wait_for_shutdown() {
    sigset_t set = shutdown_set();
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) log::reopen();
    return sig;
}

}  // namespace hisgate
