#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace hisgate {

namespace {
int wait_status(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

Error killed(pid_t pid, int fd, Error why) {
    ::kill(pid, SIGKILL);
    ::close(fd);
    (void)wait_status(pid);
    return why;
}
}  // namespace

Result<SubprocessResult> run_subprocess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                        std::size_t max_output, const Clock& clock) {
    if (argv.empty()) return make_error(ErrorClass::Internal, "subprocess.spawn", "no program named");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return make_error(ErrorClass::Internal, "subprocess.spawn", std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
        ::close(out[0]);
        return make_error(ErrorClass::Internal, "subprocess.spawn", argv[0] + ": " + std::strerror(spawned));
    }
    SubprocessResult result;
    const auto deadline = clock.steady_now() + timeout;
    char buf[64 * 1024];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.steady_now()).count();
        if (left <= 0)
            return killed(pid, out[0], make_error(ErrorClass::Timeout, "subprocess.timeout",
                                                  argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms"));
        pollfd p{out[0], POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
        if (ready < 0 && errno != EINTR) return killed(pid, out[0], make_error(ErrorClass::Internal, "subprocess.poll", std::strerror(errno)));
        if (ready <= 0) continue;
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // end of output (or an error reading it): the child is done writing
        if (result.output.size() + static_cast<std::size_t>(n) > max_output)
            return killed(pid, out[0], make_error(ErrorClass::Protocol, "subprocess.too_much_output",
                                                  argv[0] + " wrote more than " + std::to_string(max_output) + " bytes"));
        result.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    // Its output is closed; it still has until the deadline to exit.
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
            return result;
        }
        if (done < 0 && errno != EINTR) return make_error(ErrorClass::Internal, "subprocess.wait", std::strerror(errno));
        if (clock.steady_now() >= deadline) {
            ::kill(pid, SIGKILL);
            (void)wait_status(pid);
            return make_error(ErrorClass::Timeout, "subprocess.timeout",
                              argv[0] + " did not exit within " + std::to_string(timeout.count()) + " ms");
        }
        ::poll(nullptr, 0, 10);
    }
}

}  // namespace hisgate
