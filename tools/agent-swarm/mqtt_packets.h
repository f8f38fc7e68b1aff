// The MQTT 5 packets a light simulated agent needs, as bytes (OASIS MQTT 5.0, chapter 3):
// CONNECT with a will and properties, PUBLISH at QoS 0 or 1, PUBACK, SUBSCRIBE, PINGREQ
// and DISCONNECT out; CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP and DISCONNECT in.
//
// Written for tools/agent-swarm, which holds thousands of connections in one epoll loop:
// Paho's client keeps a thread per MqttLink and scans its client list per operation, so
// it is not the tool for 10,000 connections in one process. Only what the agents of
// hisgate send and receive is covered; anything else read from the broker is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::swarm::mqtt {

enum class PacketType : uint8_t {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Subscribe = 8,
    Suback = 9,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
};

struct Will {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
};

struct Connect {
    std::string client_id;
    std::string username;
    std::string password;
    uint16_t keepalive_seconds = 10;
    bool clean_start = true;
    uint32_t session_expiry_seconds = 0;  // property 0x11, sent when above 0
    uint32_t maximum_packet_bytes = 0;    // property 0x27, sent when above 0: the broker drops larger packets
    std::optional<Will> will;
};

struct Publish {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    uint16_t packet_id = 0;  // QoS 1 only
    std::string response_topic;
    std::string correlation_data;
    uint32_t expiry_seconds = 0;
};

std::string encode_connect(const Connect& c);
std::string encode_publish(const Publish& p);
std::string encode_puback(uint16_t packet_id);
std::string encode_subscribe(uint16_t packet_id, std::string_view filter, int qos);
std::string encode_pingreq();
// Reason 0x00 ends the session quietly; 0x04 asks the broker to publish the will.
std::string encode_disconnect(uint8_t reason);

// One whole packet read from the stream: its first byte and what follows the length.
struct Packet {
    uint8_t first = 0;
    std::string_view body;
    PacketType type() const { return static_cast<PacketType>(first >> 4); }
};

// The next whole packet at the front of `buffer`: its size in bytes with `out` set, 0 when
// the buffer does not hold a whole packet yet, or an error when the length is malformed or
// the packet is larger than `max_bytes`.
Result<size_t> next_packet(std::string_view buffer, size_t max_bytes, Packet& out);

struct Connack {
    bool session_present = false;
    uint8_t reason = 0;  // 0 = success; 0x80 and above = refused
    std::optional<uint16_t> server_keepalive;
};
Result<Connack> read_connack(std::string_view body);
Result<Publish> read_publish(uint8_t first, std::string_view body);
// The packet id of a PUBACK or SUBACK, and its (first) reason code.
struct Ack {
    uint16_t packet_id = 0;
    uint8_t reason = 0;
};
Result<Ack> read_ack(PacketType type, std::string_view body);

}  // namespace hisgate::swarm::mqtt
