#include "agent-swarm/mqtt_packets.h"

namespace hisgate::swarm::mqtt {

namespace {

Error malformed(const std::string& what) { return make_error(ErrorClass::BadInput, "mqtt.malformed", what); }

void put_u16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}
void put_u32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_varint(std::string& out, size_t v) {
    do {
        uint8_t b = v % 128;
        v /= 128;
        if (v > 0) b |= 0x80;
        out.push_back(static_cast<char>(b));
    } while (v > 0);
}
// A UTF-8 string or binary data: two bytes of length, then the bytes (callers keep them
// under 64 KiB: topics, ids, passwords, a will's state message).
void put_str(std::string& out, std::string_view s) {
    put_u16(out, static_cast<uint16_t>(s.size()));
    out.append(s);
}
std::string packet(uint8_t first, const std::string& rest) {
    std::string out(1, static_cast<char>(first));
    put_varint(out, rest.size());
    out += rest;
    return out;
}

// Reads from the front of a packet's body, refusing to run past its end.
class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool done() const { return pos_ >= s_.size(); }
    size_t left() const { return s_.size() - pos_; }
    Result<uint8_t> u8() {
        if (left() < 1) return malformed("packet ends inside a byte field");
        return static_cast<uint8_t>(s_[pos_++]);
    }
    Result<uint16_t> u16() {
        if (left() < 2) return malformed("packet ends inside a two-byte field");
        uint16_t v = static_cast<uint16_t>((static_cast<uint8_t>(s_[pos_]) << 8) | static_cast<uint8_t>(s_[pos_ + 1]));
        pos_ += 2;
        return v;
    }
    Result<uint32_t> u32() {
        if (left() < 4) return malformed("packet ends inside a four-byte field");
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s_[pos_ + i]);
        pos_ += 4;
        return v;
    }
    Result<size_t> varint() {
        size_t v = 0;
        for (int i = 0; i < 4; ++i) {
            auto b = u8();
            if (!b) return b.error();
            v |= static_cast<size_t>(*b & 0x7f) << (7 * i);
            if (!(*b & 0x80)) return v;
        }
        return malformed("variable byte integer longer than 4 bytes");
    }
    Result<std::string_view> str() {
        auto n = u16();
        if (!n) return n.error();
        return bytes(*n);
    }
    Result<std::string_view> bytes(size_t n) {
        if (left() < n) return malformed("a field runs past the end of its packet");
        auto v = s_.substr(pos_, n);
        pos_ += n;
        return v;
    }
    std::string_view rest() {
        auto v = s_.substr(pos_);
        pos_ = s_.size();
        return v;
    }

private:
    std::string_view s_;
    size_t pos_ = 0;
};

// What a property's value is made of (MQTT 5.0, 2.2.2.2).
enum class Kind { Byte, Two, Four, Varint, Str, Pair, Bad };
Kind kind_of(uint8_t id) {
    switch (id) {
        case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A: return Kind::Byte;
        case 0x13: case 0x21: case 0x22: case 0x23: return Kind::Two;
        case 0x02: case 0x11: case 0x18: case 0x27: return Kind::Four;
        case 0x0B: return Kind::Varint;
        case 0x03: case 0x08: case 0x09: case 0x12: case 0x15: case 0x16: case 0x1A: case 0x1C: case 0x1F: return Kind::Str;
        case 0x26: return Kind::Pair;
        default: return Kind::Bad;
    }
}

// Walks a property list, handing each to `take(id, reader)` for the ones it wants, and
// skipping the rest by their kind.
template <class F>
Result<void> read_properties(Reader& r, F&& take) {
    auto length = r.varint();
    if (!length) return length.error();
    auto span = r.bytes(*length);
    if (!span) return span.error();
    Reader props(*span);
    while (!props.done()) {
        auto id = props.u8();
        if (!id) return id.error();
        auto taken = take(*id, props);
        if (!taken) return taken.error();
        if (*taken) continue;
        bool skipped = false;
        switch (kind_of(*id)) {
            case Kind::Byte: skipped = props.u8().ok(); break;
            case Kind::Two: skipped = props.u16().ok(); break;
            case Kind::Four: skipped = props.u32().ok(); break;
            case Kind::Varint: skipped = props.varint().ok(); break;
            case Kind::Str: skipped = props.str().ok(); break;
            case Kind::Pair: skipped = props.str().ok() && props.str().ok(); break;
            case Kind::Bad: return malformed("unknown property id " + std::to_string(*id));
        }
        if (!skipped) return malformed("property " + std::to_string(*id) + " runs past the end of its list");
    }
    return {};
}

}  // namespace

std::string encode_connect(const Connect& c) {
    std::string v;
    put_str(v, "MQTT");
    v.push_back(5);
    uint8_t flags = 0;
    if (!c.username.empty()) flags |= 0x80;
    if (!c.password.empty()) flags |= 0x40;
    if (c.will) {
        flags |= 0x04;
        flags |= static_cast<uint8_t>((c.will->qos & 3) << 3);
        if (c.will->retain) flags |= 0x20;
    }
    if (c.clean_start) flags |= 0x02;
    v.push_back(static_cast<char>(flags));
    put_u16(v, c.keepalive_seconds);
    std::string props;
    if (c.session_expiry_seconds > 0) {
        props.push_back(0x11);
        put_u32(props, c.session_expiry_seconds);
    }
    if (c.maximum_packet_bytes > 0) {
        props.push_back(0x27);
        put_u32(props, c.maximum_packet_bytes);
    }
    put_varint(v, props.size());
    v += props;
    put_str(v, c.client_id);
    if (c.will) {
        put_varint(v, 0);  // will properties: none, as MqttLink sends it
        put_str(v, c.will->topic);
        put_str(v, c.will->payload);
    }
    if (!c.username.empty()) put_str(v, c.username);
    if (!c.password.empty()) put_str(v, c.password);
    return packet(static_cast<uint8_t>(PacketType::Connect) << 4, v);
}

std::string encode_publish(const Publish& p) {
    std::string v;
    put_str(v, p.topic);
    if (p.qos > 0) put_u16(v, p.packet_id);
    std::string props;
    if (p.expiry_seconds > 0) {
        props.push_back(0x02);
        put_u32(props, p.expiry_seconds);
    }
    if (!p.response_topic.empty()) {
        props.push_back(0x08);
        put_str(props, p.response_topic);
    }
    if (!p.correlation_data.empty()) {
        props.push_back(0x09);
        put_str(props, p.correlation_data);
    }
    put_varint(v, props.size());
    v += props;
    v += p.payload;
    uint8_t first = static_cast<uint8_t>(PacketType::Publish) << 4;
    first |= static_cast<uint8_t>((p.qos & 3) << 1);
    if (p.retain) first |= 0x01;
    return packet(first, v);
}

std::string encode_puback(uint16_t packet_id) {
    std::string v;
    put_u16(v, packet_id);  // reason "success" and no properties may be left out (3.4.2.1)
    return packet(static_cast<uint8_t>(PacketType::Puback) << 4, v);
}

std::string encode_subscribe(uint16_t packet_id, std::string_view filter, int qos) {
    std::string v;
    put_u16(v, packet_id);
    put_varint(v, 0);
    put_str(v, filter);
    v.push_back(static_cast<char>(qos & 3));
    return packet((static_cast<uint8_t>(PacketType::Subscribe) << 4) | 0x02, v);
}

std::string encode_pingreq() { return packet(static_cast<uint8_t>(PacketType::Pingreq) << 4, ""); }

std::string encode_disconnect(uint8_t reason) {
    std::string v(1, static_cast<char>(reason));
    put_varint(v, 0);
    return packet(static_cast<uint8_t>(PacketType::Disconnect) << 4, v);
}

Result<size_t> next_packet(std::string_view buffer, size_t max_bytes, Packet& out) {
    if (buffer.size() < 2) return size_t{0};
    size_t length = 0;
    size_t i = 1;
    for (;; ++i) {
        if (i > 4) return malformed("remaining length longer than 4 bytes");
        if (i >= buffer.size()) return size_t{0};
        auto b = static_cast<uint8_t>(buffer[i]);
        length |= static_cast<size_t>(b & 0x7f) << (7 * (i - 1));
        if (!(b & 0x80)) break;
    }
    size_t total = i + 1 + length;
    if (total > max_bytes)
        return make_error(ErrorClass::BadInput, "mqtt.too_large",
                          "a packet of " + std::to_string(total) + " bytes, above the limit of " + std::to_string(max_bytes));
    if (buffer.size() < total) return size_t{0};
    out.first = static_cast<uint8_t>(buffer[0]);
    out.body = buffer.substr(i + 1, length);
    return total;
}

Result<Connack> read_connack(std::string_view body) {
    Reader r(body);
    Connack c;
    auto flags = r.u8();
    if (!flags) return flags.error();
    c.session_present = (*flags & 1) != 0;
    auto reason = r.u8();
    if (!reason) return reason.error();
    c.reason = *reason;
    if (r.done()) return c;
    auto props = read_properties(r, [&](uint8_t id, Reader& p) -> Result<bool> {
        if (id != 0x13) return false;
        auto keepalive = p.u16();
        if (!keepalive) return keepalive.error();
        c.server_keepalive = *keepalive;
        return true;
    });
    if (!props) return props.error();
    return c;
}

Result<Publish> read_publish(uint8_t first, std::string_view body) {
    Publish p;
    p.qos = (first >> 1) & 3;
    p.retain = (first & 1) != 0;
    if (p.qos == 3) return malformed("PUBLISH with QoS 3");
    Reader r(body);
    auto topic = r.str();
    if (!topic) return topic.error();
    p.topic = std::string(*topic);
    if (p.qos > 0) {
        auto id = r.u16();
        if (!id) return id.error();
        p.packet_id = *id;
    }
    auto props = read_properties(r, [&](uint8_t id, Reader& pr) -> Result<bool> {
        if (id == 0x23) return malformed("a topic alias, which this client never allowed");
        if (id != 0x08 && id != 0x09 && id != 0x02) return false;
        if (id == 0x02) {
            auto expiry = pr.u32();
            if (!expiry) return expiry.error();
            p.expiry_seconds = *expiry;
            return true;
        }
        auto value = pr.str();
        if (!value) return value.error();
        (id == 0x08 ? p.response_topic : p.correlation_data) = std::string(*value);
        return true;
    });
    if (!props) return props.error();
    p.payload = std::string(r.rest());
    return p;
}

Result<Ack> read_ack(PacketType type, std::string_view body) {
    Reader r(body);
    Ack a;
    auto id = r.u16();
    if (!id) return id.error();
    a.packet_id = *id;
    if (r.done()) return a;  // PUBACK: success, no properties
    if (type == PacketType::Puback) {
        auto reason = r.u8();
        if (!reason) return reason.error();
        a.reason = *reason;
        return a;  // properties (a reason string) are not needed
    }
    auto props = read_properties(r, [](uint8_t, Reader&) -> Result<bool> { return false; });
    if (!props) return props.error();
    auto reason = r.u8();  // the first subscription's
    if (!reason) return reason.error();
    a.reason = *reason;
    return a;
}

}  // namespace hisgate::swarm::mqtt
