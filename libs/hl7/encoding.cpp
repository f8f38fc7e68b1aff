#include "hl7/encoding.h"

#include <algorithm>

namespace hisgate::hl7 {

namespace {

std::string printable(char c) {
    if (c >= 0x21 && c <= 0x7e) return std::string(1, c);
    static const char* hex = "0123456789ABCDEF";
    auto u = static_cast<unsigned char>(c);
    return std::string("0x") + hex[u >> 4] + hex[u & 15];
}

// Delimiters are printable ASCII: control bytes end segments, and bytes >= 0x80 belong to
// multi-byte characters in UTF-8 and GB 18030. Letters and digits are refused too: they
// make up segment IDs and escape sequences (\X0D\, \F\), which a delimiter would split.
bool usable_delimiter(char c) {
    bool alphanumeric = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    return c >= 0x21 && c <= 0x7e && !alphanumeric;
}

}  // namespace

std::string Delimiters::encoding_characters() const {
    std::string s;
    for (char c : {component, repetition, escape, subcomponent, truncation}) {
        if (c == kAbsent) break;
        s += c;
    }
    return s;
}

Result<DeclaredDelimiters> read_delimiters(std::string_view segment) {
    const std::string_view name = segment.substr(0, 3);
    if (segment.size() < 4) {
        return make_error(ErrorClass::BadInput, "hl7.field_separator",
                          std::string(name) + "-1 (the field separator) is missing at byte 3; expected a character such as '|' right after " +
                              std::string(name));
    }
    DeclaredDelimiters out;
    Delimiters& d = out.delimiters;
    d.field = segment[3];
    if (!usable_delimiter(d.field)) {
        return make_error(ErrorClass::BadInput, "hl7.field_separator",
                          std::string(name) + "-1 (the field separator) is byte " + printable(d.field) +
                              " at byte 3; expected a printable ASCII character other than a letter or digit, such as '|'");
    }
    std::string_view rest = segment.substr(4);
    std::string_view encoding = rest.substr(0, std::min(rest.find(d.field), rest.size()));
    if (encoding.size() > 5) {
        return make_error(ErrorClass::BadInput, "hl7.encoding_characters",
                          std::string(name) + "-2 holds " + std::to_string(encoding.size()) +
                              " characters at byte 4; expected 4 encoding characters (component, repetition, escape, "
                              "subcomponent), or 5 with the truncation character");
    }
    char* slots[] = {&d.component, &d.repetition, &d.escape, &d.subcomponent, &d.truncation};
    for (char* slot : slots) *slot = kAbsent;
    std::string seen(1, d.field);
    for (std::size_t i = 0; i < encoding.size(); ++i) {
        char c = encoding[i];
        if (!usable_delimiter(c) || seen.find(c) != std::string::npos) {
            return make_error(ErrorClass::BadInput, "hl7.encoding_characters",
                              std::string(name) + "-2 character " + std::to_string(i + 1) + " is '" + printable(c) +
                                  "' at byte " + std::to_string(4 + i) +
                                  "; expected a printable ASCII character, not a letter or digit, distinct from the other delimiters");
        }
        seen += c;
        *slots[i] = c;
    }
    out.encoding_length = encoding.size();
    out.header_length = 4 + encoding.size();
    return out;
}

std::size_t Pieces::count() const {
    if (sep_ == kAbsent) return 1;
    return 1 + static_cast<std::size_t>(std::count(text_.begin(), text_.end(), sep_));
}

std::string_view Pieces::at(std::size_t i) const {
    for (std::string_view piece : *this) {
        if (i-- == 0) return piece;
    }
    return {};
}

}  // namespace hisgate::hl7
