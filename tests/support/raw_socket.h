// A plain TCP client for tests that speak a protocol byte by byte (HTTP framing, idle and
// slow clients): connect from a chosen loopback address, send raw bytes, read what comes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hisgate::test {

class RawSocket {
public:
    // Connects to 127.0.0.1:port from `source` (any 127.x.y.z: a client address of its own).
    RawSocket(uint16_t port, const std::string& source = "127.0.0.1");
    ~RawSocket();
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    bool connected() const { return fd_ >= 0; }
    bool send(const std::string& bytes);
    // What arrives until the peer closes, `bytes` have come, or nothing came for `quiet`.
    std::string read(std::chrono::milliseconds quiet, size_t bytes = SIZE_MAX);
    // One whole HTTP response (head, and the body its Content-Length names), or what came
    // before nothing more arrived for `quiet`. `head`: the answer to a HEAD (no body).
    std::string read_response(std::chrono::milliseconds quiet, bool head = false);
    // True if the peer closed the connection (read returns end of stream) within `wait`.
    bool closed_by_peer(std::chrono::milliseconds wait);

private:
    int fd_ = -1;
    std::string pending_;  // read past the end of the last response
};

}  // namespace hisgate::test
