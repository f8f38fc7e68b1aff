#include "hl7/escape.h"

namespace hisgate::hl7 {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Appends the bytes of a hex escape body ("X0D0A"); false when it is not one.
bool append_hex(std::string_view body, std::string& bytes) {
    if (body.size() < 3 || body[0] != 'X' || (body.size() - 1) % 2 != 0) return false;
    std::size_t start = bytes.size();
    for (std::size_t i = 1; i < body.size(); i += 2) {
        int hi = hex_value(body[i]), lo = hex_value(body[i + 1]);
        if (hi < 0 || lo < 0) {
            bytes.resize(start);
            return false;
        }
        bytes += static_cast<char>(hi * 16 + lo);
    }
    return true;
}

char delimiter_named(char name, const Delimiters& d) {
    switch (name) {
        case 'F': return d.field;
        case 'S': return d.component;
        case 'T': return d.subcomponent;
        case 'R': return d.repetition;
        case 'E': return d.escape;
        case 'P': return d.truncation;
        default: return kAbsent;
    }
}

}  // namespace

void unescape(std::string_view leaf, const Delimiters& d, Charset charset, std::string& out) {
    const char esc = d.escape;
    if (esc == kAbsent) {
        out.append(leaf);
        return;
    }
    std::size_t i = 0;
    while (i < leaf.size()) {
        std::size_t open = leaf.find(esc, i);
        if (open == std::string_view::npos) break;
        out.append(leaf.substr(i, open - i));
        std::size_t close = leaf.find(esc, open + 1);
        if (close == std::string_view::npos) {  // a lone escape character is data
            i = open;
            break;
        }
        std::string_view body = leaf.substr(open + 1, close - open - 1);
        if (body.empty()) {  // "\\": the first is data, the second may open an escape
            out += esc;
            i = open + 1;
            continue;
        }
        if (body.size() == 1) {
            char c = delimiter_named(body[0], d);
            if (c != kAbsent) {
                out += c;
                i = close + 1;
                continue;
            }
        }
        std::string bytes;
        if (append_hex(body, bytes)) {
            // Adjacent hex escapes form one byte run, so a character split across them decodes.
            std::size_t next = close + 1;
            while (next < leaf.size() && leaf[next] == esc) {
                std::size_t end = leaf.find(esc, next + 1);
                if (end == std::string_view::npos || !append_hex(leaf.substr(next + 1, end - next - 1), bytes)) break;
                next = end + 1;
            }
            if (to_utf8(bytes, charset, &out).ok()) {
                i = next;
                continue;
            }
            out.append(leaf.substr(open, next - open));
            i = next;
            continue;
        }
        out.append(leaf.substr(open, close + 1 - open));  // formatting, charset switch or unknown: verbatim
        i = close + 1;
    }
    out.append(leaf.substr(i));
}

Result<std::string> escape(std::string_view value, const Delimiters& d) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        char name = 0;
        if (c == '\r') name = 'X';
        else if (c == '\n') name = 'X';
        else if (c == d.field) name = 'F';
        else if (c == d.component && c != kAbsent) name = 'S';
        else if (c == d.subcomponent && c != kAbsent) name = 'T';
        else if (c == d.repetition && c != kAbsent) name = 'R';
        else if (c == d.escape && c != kAbsent) name = 'E';
        else if (c == d.truncation && c != kAbsent) name = 'P';
        if (!name) {
            out += c;
            continue;
        }
        if (d.escape == kAbsent) {
            return make_error(ErrorClass::BadInput, "hl7.unescapable",
                              std::string("the value holds a delimiter or line break but the message declares no escape "
                                          "character in MSH-2; expected a value without '") +
                                  (c == '\r' ? "\\r" : c == '\n' ? "\\n" : std::string(1, c)) + "'");
        }
        out += d.escape;
        out += name;
        if (name == 'X') out += (c == '\r') ? "0D" : "0A";
        out += d.escape;
    }
    return out;
}

}  // namespace hisgate::hl7
