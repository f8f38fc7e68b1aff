// tests/support's free_port(): the ports the suite's servers are started on. Two test
// processes run at once under ctest -j, and a bench takes hundreds of ports before it starts
// the processes that bind them: a port must reach one server only.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "tests/support/process.h"

using namespace hisgate;

TEST_CASE("free_port: two processes taking ports at once never get the same one") {
    // 2,000 ports each out of the ~22,000 below the ephemeral range: by chance alone about
    // 180 would be shared, so a missing cross-process reservation fails this test.
    constexpr int kEach = 2000;
    int to_parent[2], to_child[2];
    REQUIRE(pipe(to_parent) == 0);
    REQUIRE(pipe(to_child) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        close(to_parent[0]);
        close(to_child[1]);
        std::string ports;
        for (int i = 0; i < kEach; ++i) ports += std::to_string(test::free_port()) + "\n";
        (void)!write(to_parent[1], ports.data(), ports.size());
        close(to_parent[1]);
        char done;
        (void)!read(to_child[0], &done, 1);  // holds its ports until the parent has taken its own
        _exit(0);
    }
    close(to_parent[1]);
    close(to_child[0]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(to_parent[0], buf, sizeof buf)) > 0;) text.append(buf, n);
    close(to_parent[0]);
    std::set<int> theirs;
    for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) theirs.insert(std::stoi(text.substr(at, nl - at)));
    REQUIRE(theirs.size() == kEach);

    int ephemeral_lo = 0;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_lo;
    std::set<int> ours;
    int shared = 0, in_ephemeral_range = 0;
    for (int i = 0; i < kEach; ++i) {
        const int port = test::free_port();
        ours.insert(port);
        shared += theirs.count(port);
        in_ephemeral_range += port >= ephemeral_lo;
    }
    (void)!write(to_child[1], "x", 1);
    close(to_child[1]);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(ours.size() == kEach);  // never the same port twice in one process
    CHECK(shared == 0);
    CHECK(in_ephemeral_range == 0);
}
