#include "mllp/socket_io.h"

#include <Poco/Exception.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <climits>

namespace hisgate::mllp {

namespace {
Error lost(const Poco::Exception& e) {
    return make_error(ErrorClass::Unavailable, "mllp.connection_lost", "connection failed: " + e.displayText());
}
}  // namespace

Result<void> write_all(Poco::Net::StreamSocket& socket, std::string_view bytes) {
    try {
        while (!bytes.empty()) {
            int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX));
            int n = socket.sendBytes(bytes.data(), chunk);
            if (n <= 0)
                return make_error(ErrorClass::Unavailable, "mllp.connection_lost", "peer stopped accepting data");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    } catch (const Poco::Exception& e) {
        return lost(e);
    }
    return {};
}

Result<std::size_t> read_some(Poco::Net::StreamSocket& socket, char* buffer, std::size_t capacity,
                              std::chrono::milliseconds timeout) {
    try {
        // A zero receive timeout means "wait forever" to the socket layer: never pass it.
        auto wait = std::max(timeout, std::chrono::milliseconds(1));
        socket.setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(wait).count()));
        int n = socket.receiveBytes(buffer, static_cast<int>(std::min<std::size_t>(capacity, INT_MAX)));
        if (n < 0)  // TLS layer wants more data than arrived in time
            return make_error(ErrorClass::Timeout, "mllp.read_timeout", "no data within the read timeout");
        return static_cast<std::size_t>(n);
    } catch (const Poco::TimeoutException&) {
        return make_error(ErrorClass::Timeout, "mllp.read_timeout", "no data within the read timeout");
    } catch (const Poco::Exception& e) {
        return lost(e);
    }
}

}  // namespace hisgate::mllp
