// One accepted MLLP connection, served on its own thread until the peer closes, it idles
// out, it breaks the protocol beyond repair, or the server stops. Internal to Server.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>

#include "mllp/server.h"
#include "mllp/message_log.h"

namespace hisgate::mllp {

struct ConnectionContext {
    const ServerOptions& options;
    const Handler& handler;
    MessageLog* store;                  // null = answer without storing
    Poco::Net::Context::Ptr tls;        // null = plain TCP
    const std::atomic<bool>& stopping;  // set when the server stops
    std::atomic<size_t>& buffered;      // bytes of frames in progress, all connections
};

// The server's metrics, by its name (ServerOptions::name).
void count_closed(const std::string& listener, const std::string& reason);
void show_buffered(const std::string& listener, size_t bytes);

// Serves `socket` to the end; never throws.
void serve_connection(Poco::Net::StreamSocket socket, const ConnectionContext& context);

}  // namespace hisgate::mllp
