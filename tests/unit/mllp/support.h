// Helpers shared by the MLLP tests: generated messages, temporary directories, and a
// scripted raw TCP peer for behaviours the real server must never show (late answers).
#pragma once

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::mllp::testing {

// For INFO(): the error a failed result carries.
template <class T>
std::string why(const Result<T>& r) {
    return r.ok() ? "ok" : r.error().describe();
}

// 400 generated messages (tools/hl7-gen, a fixed seed): every kind and charset.
const std::vector<std::string>& generated_messages();

// A small generated ADT^A03 message with MSH-10 set to `control_id`.
std::string sample_message(std::string_view control_id);

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Reads one whole MLLP frame from a raw socket (test-side peer); "" if the peer closed.
std::string read_frame(Poco::Net::StreamSocket& socket);

// A listening socket on 127.0.0.1 with a free port.
Poco::Net::ServerSocket listen_on_free_port();

}  // namespace hisgate::mllp::testing
