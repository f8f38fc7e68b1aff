// Real child processes for tests: started with fork/exec, output to a file, stopped with
// SIGTERM or killed with SIGKILL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace hisgate::test {

class Process {
public:
    Process() = default;
    Process(std::vector<std::string> argv, std::string output_file);
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    ~Process();  // terminates if still running

    bool start();
    // SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit status
    // (or 128 + signal).
    int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
    void kill9();
    // Waits for it to exit by itself; -1 on timeout.
    int wait_exit(std::chrono::milliseconds timeout);
    bool running();
    pid_t pid() const { return pid_; }
    std::string output() const;  // what it has written so far

private:
    std::vector<std::string> argv_;
    std::string output_file_;
    pid_t pid_ = -1;
    int status_ = -1;
};

uint16_t free_port();
bool wait_port_open(uint16_t port, std::chrono::milliseconds timeout);
// A new directory /tmp/<prefix>-XXXXXX. A test executable's main() (tests/catch_main.cpp)
// removes every one made once all its cases passed, and names them when one failed: a passing
// suite leaves nothing in /tmp (a clean clone's run made over a thousand), a failing case
// keeps its processes' logs to read.
std::string make_temp_dir(const std::string& prefix);
void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);
std::string binary(const std::string& relative);  // a program in the build tree

// Runs a program to its end (at most `timeout`) and keeps what it wrote (stdout and stderr).
struct Captured {
    int status = -1;  // -1: it did not end in time
    std::string output;
};
Captured run_capture(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `cond` every 20 ms until it is true or `timeout` passes.
template <class F>
bool eventually(F cond, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (cond()) return true;
        struct timespec ts{0, 20 * 1000 * 1000};
        nanosleep(&ts, nullptr);
    }
    return cond();
}

}  // namespace hisgate::test
