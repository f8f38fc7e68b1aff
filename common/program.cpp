#include "common/program.h"

#include <csignal>
#include <cstdio>
#include <cstring>

namespace hisgate {

ProgramArgs parse_program_args(int argc, char** argv, const std::string& usage) {
    ProgramArgs out;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("%s", usage.c_str());
            out.exit_status = 0;
            return out;
        }
        if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
            out.config_path = argv[++i];
            continue;
        }
        std::fprintf(stderr, "%s: unexpected argument '%s' (expected --config FILE or --help)\n", argv[0], argv[i]);
        out.exit_status = 2;
        return out;
    }
    if (out.config_path.empty()) {
        std::fprintf(stderr, "%s: --config FILE is required\n\n%s", argv[0], usage.c_str());
        out.exit_status = 2;
    }
    return out;
}

namespace {
sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
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
    sigwait(&set, &sig);
    return sig;
}

}  // namespace hisgate
