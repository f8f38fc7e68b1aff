#include "hl7/json.h"

namespace hisgate::hl7 {

namespace {

void append_json_string(std::string_view s, std::string& out) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            switch (c) {
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 15];
            }
        } else {
            out += c;  // UTF-8 passes through: decoded values are valid UTF-8
        }
    }
    out += '"';
}

// Writes '[' on entering each level and ',' between siblings.
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}
    void segment_begin(std::string_view name) {
        open();
        append_json_string(name, out_);
        first_ = false;
    }
    void segment_end() { close(); }
    void field_begin() { open(); }
    void field_end() { close(); }
    void repetition_begin() { open(); }
    void repetition_end() { close(); }
    void component_begin() { open(); }
    void component_end() { close(); }
    void subcomponent(std::string_view v) {
        if (!first_) out_ += ',';
        append_json_string(v, out_);
        first_ = false;
    }

private:
    void open() {
        if (!first_) out_ += ',';
        out_ += '[';
        first_ = true;
    }
    void close() {
        out_ += ']';
        first_ = false;
    }
    std::string& out_;
    bool first_ = true;
};

struct Counter {
    Stats& s;
    void segment_begin(std::string_view) { ++s.segments; }
    void segment_end() {}
    void field_begin() { ++s.fields; }
    void field_end() {}
    void repetition_begin() {}
    void repetition_end() {}
    void component_begin() {}
    void component_end() {}
    void subcomponent(std::string_view v) {
        ++s.leaves;
        s.leaf_bytes += v.size();
    }
};

}  // namespace

void append_json(const Message& m, std::string& out) {
    JsonWriter w(out);
    out += '[';
    m.walk(w);
    out += ']';
}

void Stats::add(const Message& m) {
    ++messages;
    Counter c{*this};
    m.walk(c);
}

std::string Stats::line() const {
    return "messages=" + std::to_string(messages) + " segments=" + std::to_string(segments) +
           " fields=" + std::to_string(fields) + " leaves=" + std::to_string(leaves) +
           " leaf_bytes=" + std::to_string(leaf_bytes);
}

}  // namespace hisgate::hl7
