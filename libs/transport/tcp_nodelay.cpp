#include "transport/tcp_nodelay.h"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace hisgate {

namespace {
bool same_endpoint(const sockaddr_storage& a, const addrinfo* b) {
    if (a.ss_family != b->ai_family) return false;
    if (a.ss_family == AF_INET) {
        auto* x = reinterpret_cast<const sockaddr_in*>(&a);
        auto* y = reinterpret_cast<const sockaddr_in*>(b->ai_addr);
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a.ss_family == AF_INET6) {
        auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
        auto* y = reinterpret_cast<const sockaddr_in6*>(b->ai_addr);
        return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}
}  // namespace

int disable_nagle_towards(const std::string& uri) {
    auto scheme_end = uri.find("://");
    auto colon = uri.rfind(':');
    if (scheme_end == std::string::npos || colon == std::string::npos || colon <= scheme_end) return 0;
    std::string host = uri.substr(scheme_end + 3, colon - scheme_end - 3);
    std::string port = uri.substr(colon + 1);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* peers = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &peers) != 0) return 0;

    int changed = 0;
    if (DIR* fds = opendir("/proc/self/fd")) {
        while (auto* e = readdir(fds)) {
            int fd = std::atoi(e->d_name);
            if (fd <= 2) continue;
            sockaddr_storage peer{};
            socklen_t len = sizeof peer;
            if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
            for (auto* p = peers; p; p = p->ai_next) {
                if (!same_endpoint(peer, p)) continue;
                int one = 1;
                if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++changed;
                break;
            }
        }
        closedir(fds);
    }
    freeaddrinfo(peers);
    return changed;
}

}  // namespace hisgate
