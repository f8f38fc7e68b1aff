// The MQTT 5 packets of tools/agent-swarm: what it writes reads back, and what it reads
// from the broker is bounded.
#include <catch2/catch.hpp>

#include "agent-swarm/mqtt_packets.h"

using namespace hisgate::swarm::mqtt;

TEST_CASE("agent-swarm packets: a PUBLISH with a response topic and correlation data reads back") {
    Publish p;
    p.topic = "hisgate/v1/hospitals/S00001/request";
    p.payload = std::string(300, 'x');  // a remaining length of two bytes
    p.qos = 1;
    p.packet_id = 513;
    p.response_topic = "hisgate/v1/hospitals/S00001/response/cp1";
    p.correlation_data = std::string("\0\x01\x02", 3);
    p.expiry_seconds = 5;
    std::string bytes = encode_publish(p);
    Packet packet;
    auto size = next_packet(bytes, 1 << 20, packet);
    REQUIRE(size);
    CHECK(*size == bytes.size());
    CHECK(packet.type() == PacketType::Publish);
    auto back = read_publish(packet.first, packet.body);
    REQUIRE(back);
    CHECK(back->topic == p.topic);
    CHECK(back->payload == p.payload);
    CHECK(back->qos == 1);
    CHECK(back->packet_id == 513);
    CHECK(back->response_topic == p.response_topic);
    CHECK(back->correlation_data == p.correlation_data);
    CHECK(back->expiry_seconds == 5);
}

TEST_CASE("agent-swarm packets: a partial packet waits, an oversized or malformed one is refused") {
    Publish p;
    p.topic = "t";
    p.payload = std::string(1000, 'y');
    std::string bytes = encode_publish(p);
    Packet packet;
    for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, bytes.size() - 1}) {
        auto size = next_packet(std::string_view(bytes).substr(0, cut), 1 << 20, packet);
        REQUIRE(size);
        CHECK(*size == 0);
    }
    CHECK_FALSE(next_packet(bytes, 500, packet));  // above the limit, refused from its header alone
    CHECK_FALSE(next_packet(std::string("\x30\xff\xff\xff\xff\x01", 6), 1 << 30, packet));  // a 5-byte length
}

TEST_CASE("agent-swarm packets: properties it does not need are skipped, an unknown one is refused") {
    // PUBLISH QoS 0, topic "a", properties: user property ("k","v") and subscription id 7.
    std::string body = std::string("\x00\x01" "a", 3) + std::string("\x09\x26\x00\x01k\x00\x01v\x0b\x07", 10) + "hi";
    auto p = read_publish(0x30, body);
    REQUIRE(p);
    CHECK(p->payload == "hi");
    std::string bad = std::string("\x00\x01" "a", 3) + std::string("\x02\x7f\x00", 3);
    CHECK_FALSE(read_publish(0x30, bad));
}

TEST_CASE("agent-swarm packets: CONNACK, SUBACK and PUBACK") {
    auto ok = read_connack(std::string("\x00\x00\x03\x13\x00\x1e", 6));
    REQUIRE(ok);
    CHECK(ok->reason == 0);
    CHECK(ok->server_keepalive == 30);
    auto refused = read_connack(std::string("\x00\x87\x00", 3));
    REQUIRE(refused);
    CHECK(refused->reason == 0x87);
    auto suback = read_ack(PacketType::Suback, std::string("\x00\x05\x00\x01", 4));
    REQUIRE(suback);
    CHECK(suback->packet_id == 5);
    CHECK(suback->reason == 1);
    auto puback = read_ack(PacketType::Puback, std::string("\x01\x00", 2));
    REQUIRE(puback);
    CHECK(puback->packet_id == 256);
}
