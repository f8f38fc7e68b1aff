#include "tests/support/process.h"

#include <arpa/inet.h>
#include <atomic>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
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

namespace {

// The kernel's ephemeral range (ip_local_port_range): ports it hands to outgoing connections
// and to bind(port 0). Ports for servers are taken below it, so an agent's outgoing
// connection can never take a port a test handed out for a server it has not started yet.
std::pair<int, int> ephemeral_port_range() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int lo = 32768, hi = 60999;
    in >> lo >> hi;
    return {lo, hi};
}

// Holds `port` for this process's lifetime against every other test process: an flock on
// /tmp/hisgate-test-ports/<port>, released by the kernel when the process exits, however it
// exits (kill -9 too), so nothing stale is left to clean up.
bool reserve_across_processes(uint16_t port) {
    static const std::string dir = [] {
        const std::string d = "/tmp/hisgate-test-ports";
        mkdir(d.c_str(), 01777);
        chmod(d.c_str(), 01777);  // every user's tests share it, whatever the umask
        return d;
    }();
    const std::string path = dir + "/" + std::to_string(port);
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return false;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return false;
    }
    return true;  // the descriptor stays open: the lock lives as long as this process
}

bool bindable_on_loopback(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the servers bind
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

}  // namespace

uint16_t free_port() {
    // A port is free only until someone binds it. Three ways the same port used to reach two
    // servers: the kernel hands a closed port out again (a bench took 200 ports before
    // starting the processes that bind them and got one twice: one hospital's agent talked to
    // another's push listener); two test processes running at once (ctest -j) each took it;
    // or an outgoing connection took it as its local port before the server started. So a
    // port comes from below the ephemeral range, is never handed out twice by one process,
    // and is held against other processes by a lock until this process exits.
    static std::mutex mu;
    static std::set<uint16_t> given;
    static std::mt19937 pick{std::random_device{}()};
    std::lock_guard lock(mu);
    const auto [ephemeral_lo, ephemeral_hi] = ephemeral_port_range();
    (void)ephemeral_hi;
    const int lo = 10000, hi = ephemeral_lo - 1;
    if (hi - lo < 1000) throw std::runtime_error("free_port: the ephemeral range starts at " + std::to_string(ephemeral_lo) + ", leaving too few ports below it for servers (expected it to start above 11000)");
    const int span = hi - lo + 1;
    const int start = std::uniform_int_distribution<int>(0, span - 1)(pick);
    for (int i = 0; i < span; ++i) {
        const auto port = static_cast<uint16_t>(lo + (start + i) % span);
        if (given.count(port) || !bindable_on_loopback(port)) continue;
        if (!reserve_across_processes(port)) continue;
        if (!bindable_on_loopback(port)) continue;  // bound between the check and the lock; the lock stays taken
        given.insert(port);
        return port;
    }
    throw std::runtime_error("free_port: no loopback port left between " + std::to_string(lo) + " and " + std::to_string(hi));
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

namespace {

struct MadeTempDirs {
    std::mutex mutex;
    std::vector<std::string> dirs;
};

MadeTempDirs& made_temp_dirs() {
    static MadeTempDirs* made = new MadeTempDirs;  // never destroyed: read at the very end of main()
    return *made;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    char* dir = mkdtemp(tmpl.data());
    if (!dir) return std::string();
    MadeTempDirs& made = made_temp_dirs();
    std::lock_guard lock(made.mutex);
    made.dirs.emplace_back(dir);
    return made.dirs.back();
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

// Called by tests/catch_main.cpp after the cases ran (a weak reference there: a test that
// makes no directory does not link this file for it).
extern "C" void hisgate_test_temp_dirs_finish(bool passed) {
    auto& made = hisgate::test::made_temp_dirs();
    std::lock_guard lock(made.mutex);
    for (const std::string& dir : made.dirs) {
        if (!passed) {
            std::fprintf(stderr, "kept for inspection: %s\n", dir.c_str());
            continue;
        }
        std::error_code ignored;  // a process that outlived its test may still write there
        std::filesystem::remove_all(dir, ignored);
    }
}

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
