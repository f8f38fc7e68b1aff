// The delimiters a message declares in MSH-1/MSH-2 (or FHS/BHS), and splitting text at one.
//
// Invariant: a delimiter the sender left out is absent (kAbsent), never replaced by the
// standard character: its byte is then plain data. Present delimiters are distinct
// printable ASCII bytes other than letters and digits, so splitting UTF-8 text at them
// never cuts a character or an escape sequence.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::hl7 {

inline constexpr char kAbsent = '\0';

struct Delimiters {
    char field = '|';
    char component = '^';
    char repetition = '~';
    char escape = '\\';
    char subcomponent = '&';
    char truncation = kAbsent;  // 5th encoding character, HL7 2.7+

    // MSH-2 as declared: the encoding characters in their standard order.
    std::string encoding_characters() const;
};

// What MSH-1/MSH-2 declared, plus what the sender left out (reported, not guessed).
struct DeclaredDelimiters {
    Delimiters delimiters;
    std::size_t encoding_length = 0;   // characters found in MSH-2 (0..5)
    std::size_t header_length = 0;    // bytes of "MSH|^~\&" up to (not including) the next field separator
};

// Reads the delimiters from a header segment ("MSH", "FHS" or "BHS" followed by the field
// separator and the encoding characters). `segment` is the header segment without its
// terminator. Errors: hl7.field_separator, hl7.encoding_characters.
Result<DeclaredDelimiters> read_delimiters(std::string_view segment);

// Header segments carry their own delimiters in fields 1 and 2 and are numbered from
// the field separator itself: "MSH|^~\&|A" has MSH-1 "|", MSH-2 "^~\&", MSH-3 "A".
inline bool is_header_segment(std::string_view name) {
    return name == "MSH" || name == "FHS" || name == "BHS";
}

// The pieces of `text` between occurrences of `sep`; an absent separator yields the text
// whole, and empty text is one empty piece. Views into `text`; no allocation.
class Pieces {
public:
    Pieces(std::string_view text, char sep) : text_(text), sep_(sep) {}

    class iterator {
    public:
        iterator(std::string_view rest, char sep, bool done) : rest_(rest), sep_(sep), done_(done) { advance(); }
        std::string_view operator*() const { return piece_; }
        iterator& operator++() { advance(); return *this; }
        bool operator==(const iterator& o) const { return at_end_ == o.at_end_ && (at_end_ || rest_.data() == o.rest_.data()); }

    private:
        void advance() {
            if (done_) { at_end_ = true; return; }
            // memchr must not see the null data() of an empty view.
            const void* hit = sep_ == kAbsent || rest_.empty() ? nullptr : std::memchr(rest_.data(), sep_, rest_.size());
            if (!hit) {
                piece_ = rest_;
                rest_ = rest_.substr(rest_.size());
                done_ = true;
                return;
            }
            std::size_t n = static_cast<const char*>(hit) - rest_.data();
            piece_ = rest_.substr(0, n);
            rest_ = rest_.substr(n + 1);
        }
        std::string_view rest_, piece_;
        char sep_;
        bool done_;
        bool at_end_ = false;
    };

    iterator begin() const { return iterator(text_, sep_, false); }
    iterator end() const { return iterator({}, sep_, true); }

    std::size_t count() const;
    // Piece i (0-based); empty when there are fewer pieces.
    std::string_view at(std::size_t i) const;

private:
    std::string_view text_;
    char sep_;
};

}  // namespace hisgate::hl7
