// One HL7 v2 message: parsed once into segment views over a private copy of its bytes;
// fields, repetitions, components and subcomponents are split and decoded on access.
//
// Invariants:
//  - segment text is UTF-8: the input itself when the charset is UTF-8 or ASCII (zero
//    copy), else one transcoded copy made at parse time;
//  - an unedited segment serializes to its original bytes, so an unmodified message
//    round-trips byte for byte (terminators normalised to CR);
//  - present delimiters are distinct printable ASCII, so splitting never cuts a character.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "hl7/charset.h"
#include "hl7/encoding.h"
#include "hl7/escape.h"

namespace hisgate::hl7 {

struct ParseOptions {
    // The charset of a message whose MSH-18 is empty: the hospital's parameter. UTF-8 by
    // default, a superset of ASCII (the standard's default) that real senders use undeclared.
    Charset default_charset = Charset::Utf8;
    // Where this message starts in an enclosing file, so errors name file positions.
    std::size_t base_offset = 0;
    std::size_t message_number = 0;  // 1-based within the file; 0 when parsed alone
};

// Where a parse error was found: for error texts and for ACK ERR segments.
struct ErrorSite {
    std::size_t offset = 0;      // byte offset in the input (plus ParseOptions::base_offset)
    std::size_t segment = 0;     // 1-based; 0 when no segment applies
    std::string segment_name;
    std::size_t field = 0;       // 0 when the error is not within one field
};

// Something accepted but reported: LF or CRLF terminators, empty lines, encoding
// characters the sender left out, text skipped between messages.
struct Notice {
    std::string code;
    std::string message;
    std::size_t offset = 0;
};

struct TerminatorCounts {
    std::size_t cr = 0, lf = 0, crlf = 0;
};

class Message;

// One field to set: where (a path, as for Message::set) and what (UTF-8).
struct FieldValue {
    std::string_view path;
    std::string_view value;
};

// A view of one segment; valid while its Message lives and is not edited.
class Segment {
public:
    std::string_view name() const { return text_.substr(0, 3); }
    std::string_view text() const { return text_; }  // UTF-8, without terminator
    bool is_header() const { return is_header_segment(name()); }
    // Fields present, counting MSH-1 and MSH-2 for header segments.
    std::size_t field_count() const;
    // Encoded text of field n (1-based), "" past the end. MSH-1 is the field separator
    // and MSH-2 the encoding characters, both literal.
    std::string_view field(std::size_t n) const;

private:
    friend class Message;

// One field to set: where (a path, as for Message::set) and what (UTF-8).
struct FieldValue {
    std::string_view path;
    std::string_view value;
};
    Segment(std::string_view text, const Delimiters* d) : text_(text), d_(d) {}
    std::string_view text_;
    const Delimiters* d_;
};

class Message {
public:
    static Result<Message> parse(std::string_view bytes);
    static Result<Message> parse(std::string_view bytes, const ParseOptions& options, ErrorSite* site = nullptr);

    // A new message holding only "MSH" and the given delimiters, to be written in `charset`
    // (set MSH-18 to its name): every value set() takes is checked against that charset at
    // once. Fill it with set() / set_all().
    static Message create(const Delimiters& delimiters = {}, Charset charset = Charset::Utf8);

    // Decoded UTF-8 value at a path ("MSH-10", "PID-3(2)-1", "OBX[3]-5"); "" if absent or
    // the path is malformed.
    std::string get(std::string_view path) const;
    // As get(), but a malformed path is an error (hl7.path).
    Result<std::string> value(std::string_view path) const;

    // Escapes the value and stores it at the path, creating missing segments, fields,
    // repetitions, components and subcomponents. MSH-1 and MSH-2 cannot be set; setting
    // MSH-18 changes the charset the message serializes to.
    // The only way to change a field: a value that cannot be written (a malformed or
    // read-only path, text the message's charset cannot carry: hl7.charset_unrepresentable,
    // BadInput) is an error naming the path, and the message is left as it was.
    Result<void> set(std::string_view path, std::string_view utf8_value);
    // set() for each field in order; stops at the first failure and returns its error (the
    // fields before it stay set, so a caller that fails sends nothing).
    Result<void> set_all(std::initializer_list<FieldValue> fields);

    // Segments joined and terminated by '\r', in the message's charset.
    std::string serialize() const;

    const Delimiters& delimiters() const { return delimiters_; }
    Charset charset() const { return charset_; }
    std::size_t segment_count() const { return segments_.size(); }
    Segment segment(std::size_t i) const { return Segment(segments_[i].text, &delimiters_); }
    const std::vector<Notice>& notices() const { return notices_; }
    const TerminatorCounts& terminators() const { return terminators_; }

    // The decoded UTF-8 value of one leaf (a subcomponent as stored): the leaf itself when
    // it holds no escape, else a view of `scratch`.
    std::string_view decode(std::string_view leaf, std::string& scratch) const {
        if (!needs_unescape(leaf, delimiters_)) return leaf;
        scratch.clear();
        unescape(leaf, delimiters_, charset_, scratch);
        return scratch;
    }

    // Visits the whole structure in order. The visitor provides segment_begin(name),
    // segment_end(), field_begin(), field_end(), repetition_begin(), repetition_end(),
    // component_begin(), component_end() and subcomponent(decoded). MSH-1 and MSH-2 are
    // visited as one literal subcomponent each.
    template <class Visitor>
    void walk(Visitor& v) const;

private:
    struct SegmentText {
        std::string_view text;                      // UTF-8
        std::string_view original;                  // input bytes; meaningful while !edited
        std::shared_ptr<const std::string> owned;   // backs text after an edit
        bool edited = false;
    };

    Result<void> recharset(Charset before);

    std::shared_ptr<const std::string> input_;
    std::shared_ptr<const std::string> utf8_;  // == input_ when no transcoding was needed
    std::vector<SegmentText> segments_;
    Delimiters delimiters_;
    std::size_t encoding_length_ = 4;
    Charset charset_ = Charset::Utf8;
    Charset default_charset_ = Charset::Utf8;
    std::vector<Notice> notices_;
    TerminatorCounts terminators_;
};

template <class Visitor>
void Message::walk(Visitor& v) const {
    // One pass over each segment's bytes: a table classifies every byte, so each leaf
    // costs one look-up per byte rather than a search per nesting level.
    enum : unsigned char { kData, kField, kRepetition, kComponent, kSubcomponent, kEscape };
    unsigned char kind[256] = {};
    auto mark = [&kind](char c, unsigned char k) {
        if (c != kAbsent) kind[static_cast<unsigned char>(c)] = k;
    };
    mark(delimiters_.field, kField);
    mark(delimiters_.repetition, kRepetition);
    mark(delimiters_.component, kComponent);
    mark(delimiters_.subcomponent, kSubcomponent);
    mark(delimiters_.escape, kEscape);

    std::string scratch;
    auto literal = [&v](std::string_view text) {
        v.field_begin();
        v.repetition_begin();
        v.component_begin();
        v.subcomponent(text);
        v.component_end();
        v.repetition_end();
        v.field_end();
    };
    for (const SegmentText& seg : segments_) {
        std::string_view t = seg.text;
        v.segment_begin(t.substr(0, 3));
        if (t.size() > 3) {
            std::size_t i = 4;
            if (is_header_segment(t.substr(0, 3))) {
                literal(t.substr(3, 1));
                std::size_t end = t.find(delimiters_.field, 4);
                if (end == std::string_view::npos) end = t.size();
                literal(t.substr(4, end - 4));
                i = end + 1;
            }
            if (i <= t.size()) {
                const char* p = t.data();
                const std::size_t n = t.size();
                std::size_t leaf = i;
                bool escaped = false;
                auto emit = [&](std::size_t end) {
                    std::string_view text(p + leaf, end - leaf);
                    if (escaped) {
                        scratch.clear();
                        unescape(text, delimiters_, charset_, scratch);
                        text = scratch;
                    }
                    v.subcomponent(text);
                    leaf = end + 1;
                    escaped = false;
                };
                v.field_begin();
                v.repetition_begin();
                v.component_begin();
                for (; i < n; ++i) {
                    const unsigned char k = kind[static_cast<unsigned char>(p[i])];
                    if (k == kData) continue;
                    if (k == kEscape) {
                        escaped = true;
                        continue;
                    }
                    emit(i);
                    if (k == kSubcomponent) continue;
                    v.component_end();
                    if (k == kComponent) {
                        v.component_begin();
                        continue;
                    }
                    v.repetition_end();
                    if (k == kField) {
                        v.field_end();
                        v.field_begin();
                    }
                    v.repetition_begin();
                    v.component_begin();
                }
                emit(n);
                v.component_end();
                v.repetition_end();
                v.field_end();
            }
        }
        v.segment_end();
    }
}

}  // namespace hisgate::hl7
