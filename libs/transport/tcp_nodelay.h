// Paho MQTT C offers no hook for socket options, and leaves Nagle's algorithm on. With
// QoS 1 that costs a delayed-ACK round (about 40 ms) on every reply: the PUBACK of the
// request is still unacknowledged when the reply is written, so the kernel holds the
// reply back. After each connection we find our sockets to the broker and turn Nagle off.
#pragma once

#include <string>

namespace hisgate {

// Sets TCP_NODELAY on every socket of this process connected to the broker in `uri`
// (tcp://host:port or ssl://host:port). Returns how many sockets it changed.
int disable_nagle_towards(const std::string& uri);

}  // namespace hisgate
