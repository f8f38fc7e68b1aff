// Blocking reads and writes on a (plain or TLS) POCO stream socket, with POCO's
// exceptions turned into error values. Shared by the MLLP client and server.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstddef>
#include <string_view>

#include "common/error.h"

namespace hisgate::mllp {

// Writes every byte or fails with Unavailable "mllp.connection_lost".
Result<void> write_all(Poco::Net::StreamSocket& socket, std::string_view bytes);

// Reads what is available, waiting at most `timeout` for the first byte. Returns the
// number of bytes read; 0 means the peer closed the connection. Errors: Timeout
// "mllp.read_timeout" (nothing arrived in time; the connection is still usable) and
// Unavailable "mllp.connection_lost".
Result<std::size_t> read_some(Poco::Net::StreamSocket& socket, char* buffer, std::size_t capacity,
                              std::chrono::milliseconds timeout);

}  // namespace hisgate::mllp
