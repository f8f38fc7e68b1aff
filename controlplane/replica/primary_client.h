// How a replica reaches the primary: the control plane's replication routes
// (controlplane/public_partition/replication_api.h) over HTTP with a service token. Every
// answer is read within bounds: a stream page at most kMaxPageBytes, a snapshot at most
// kMaxSnapshotBytes, written to a file as it arrives.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/client_session.h"
#include "common/error.h"
#include "controlplane/public_partition/public_primary.h"
#include "controlplane/public_partition/stream_entry.h"

namespace hisgate::controlplane::replica {

struct StreamPage {
    public_partition::StreamHead head;
    int64_t now_ms = 0;  // the primary's clock when it answered
    std::vector<public_partition::StreamEntry> entries;
};

struct PrimaryAddress {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string token;  // a service token (hisgate token issue --role service)
    Poco::Net::Context::Ptr tls;  // null: plain HTTP
};

class PrimaryClient {
public:
    static constexpr size_t kMaxPageBytes = 16 * 1024 * 1024;
    static constexpr uint64_t kMaxSnapshotBytes = uint64_t{16} * 1024 * 1024 * 1024;

    explicit PrimaryClient(PrimaryAddress address) : address_(std::move(address)) {}

    // The entries after `after`, waiting up to `wait` for one. Errors: the API's own
    // (NotFound stream.gone, BadInput stream.ahead, ...), Unavailable when unreachable,
    // Protocol for an answer out of shape.
    Result<StreamPage> stream(int64_t after, std::chrono::milliseconds wait);
    // Writes a snapshot of the primary to `path`; returns the position its headers name.
    Result<public_partition::Position> snapshot(const std::string& path);

private:
    PrimaryAddress address_;
};

}  // namespace hisgate::controlplane::replica
