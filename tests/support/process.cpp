#include "tests/support/process.h"

#include <arpa/inet.h>
#include <atomic>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <sstream>
#include <thread>
#include <utility>

namespace hisgate::test {

Process::Process(std::vector<std::string> argv, std::string output_file)
    : argv_(std::move(argv)), output_file_(std::move(output_file)) {}

Process::Process(Process&& o) noexcept
    : argv_(std::move(o.argv_)), output_file_(std::move(o.output_file_)), pid_(std::exchange(o.pid_, -1)),
      status_(o.status_) {}

Process& Process::operator=(Process&& o) noexcept {
    if (this != &o) {
        if (pid_ > 0) stop();
        argv_ = std::move(o.argv_);
        output_file_ = std::move(o.output_file_);
        pid_ = std::exchange(o.pid_, -1);
        status_ = o.status_;
    }
    return *this;
}

Process::~Process() {
    if (pid_ > 0) stop();
}

bool Process::start() {
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
        int fd = open(output_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        // Tests block signals in their own threads; the child starts clean.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<char*> args;
        for (auto& a : argv_) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    return true;
}

int Process::wait_exit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int st = 0;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            pid_ = -1;
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

int Process::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    int st = wait_exit(grace);
    if (st >= 0) return st;
    kill9();
    return status_;
}

void Process::kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::milliseconds(10000));
}

bool Process::running() { return pid_ > 0 && wait_exit(std::chrono::milliseconds(0)) < 0; }

std::string Process::output() const { return read_file(output_file_); }

uint16_t free_port() {
    // A port is free only until someone binds it, and the kernel hands a closed port out
    // again: a test or benchmark that takes many ports before starting the processes that
    // bind them (100 his-sims and 100 agents' push listeners) used to get the same port
    // twice, and one hospital's agent then talked to another's push listener. So a port
    // is never handed out twice by one process.
    static std::mutex mu;
    static std::set<uint16_t> given;
    std::lock_guard lock(mu);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        close(fd);
        const uint16_t port = ntohs(addr.sin_port);
        if (port != 0 && given.insert(port).second) return port;
    }
    throw std::runtime_error("free_port: no loopback port left that this process has not handed out already");
}

bool wait_port_open(uint16_t port, std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            addr.sin_port = htons(port);
            bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
            close(fd);
            return ok;
        },
        timeout);
}

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    char* dir = mkdtemp(tmpl.data());
    return dir ? std::string(dir) : std::string();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string binary(const std::string& relative) { return std::string(HISGATE_BINARY_DIR) + "/" + relative; }

}  // namespace hisgate::test

namespace hisgate::test {

Captured run_capture(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    static std::atomic<int> runs{0};
    static const std::string dir = make_temp_dir("run-capture");
    const std::string out = dir + "/run-" + std::to_string(++runs) + ".out";
    Process p(std::move(argv), out);
    if (!p.start()) return {};
    int status = p.wait_exit(timeout);
    if (status < 0) p.kill9();
    return {status, read_file(out)};
}

}  // namespace hisgate::test
