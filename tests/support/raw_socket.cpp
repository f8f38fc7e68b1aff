#include "tests/support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace hisgate::test {

RawSocket::RawSocket(uint16_t port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

RawSocket::~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
    size_t sent = 0;
    while (fd_ >= 0 && sent < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return fd_ >= 0;
}

std::string RawSocket::read(std::chrono::milliseconds quiet, size_t bytes) {
    std::string out = std::move(pending_);
    pending_.clear();
    char buf[4096];
    while (fd_ >= 0 && out.size() < bytes) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string RawSocket::read_response(std::chrono::milliseconds quiet, bool head) {
    std::string out = read(quiet, 0);
    char buf[4096];
    auto more = [&] {
        pollfd p{fd_, POLLIN, 0};
        if (fd_ < 0 || ::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return false;
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        out.append(buf, static_cast<size_t>(n));
        return true;
    };
    size_t head_end;
    while ((head_end = out.find("\r\n\r\n")) == std::string::npos)
        if (!more()) return out;
    size_t length = 0;
    auto at = out.find("Content-Length: ");
    if (at != std::string::npos && at < head_end) length = std::strtoul(out.c_str() + at + 16, nullptr, 10);
    if (head) length = 0;  // a response to HEAD names a length but carries no body
    while (out.size() < head_end + 4 + length)
        if (!more()) return out;
    pending_ = out.substr(head_end + 4 + length);
    return out.substr(0, head_end + 4 + length);
}

bool RawSocket::closed_by_peer(std::chrono::milliseconds wait) {
    if (!pending_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || ::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) == 0;
}

}  // namespace hisgate::test
