// Files holding many messages, plain or in a batch envelope (FHS/BHS ... BTS/FTS).
//
// A message starts at an MSH line and ends before the next MSH or envelope line, or at an
// empty line. Text outside any message (comments in sample files, for instance) is skipped
// and reported as a Notice, never silently. The envelope's header segments declare their
// own delimiters, which also apply to the trailers they open.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "hl7/message.h"

namespace hisgate::hl7 {

// One message's bytes within a file, not yet parsed.
struct MessageSpan {
    std::string_view bytes;   // from its MSH to its last terminator
    std::size_t offset = 0;   // where it starts in the file
    std::size_t number = 0;   // 1-based
};

// One FHS, BHS, BTS or FTS line.
struct EnvelopeSegment {
    std::string_view text;    // without terminator
    std::size_t offset = 0;
    Delimiters delimiters;    // declared by it (FHS, BHS) or by the header it closes
    std::string_view name() const { return text.substr(0, 3); }
    // Encoded text of field n, numbered as in Segment::field.
    std::string_view field(std::size_t n) const;
};

struct FileLayout {
    std::vector<MessageSpan> messages;
    std::vector<EnvelopeSegment> envelope;
    std::vector<Notice> notices;
};

// Finds the messages and envelope of a file without parsing the messages, so each can
// be parsed (or acknowledged) on its own. Errors: hl7.batch_structure, and the delimiter
// errors of a bad FHS or BHS.
Result<FileLayout> split_file(std::string_view bytes);

struct Batch {
    std::vector<Message> messages;
    std::vector<EnvelopeSegment> envelope;  // views into the parsed bytes
    std::vector<Notice> notices;            // the file's, then each message's
};

// Parses every message; the first bad one fails the whole file, naming its number and
// byte offset. `bytes` must outlive the envelope views.
Result<Batch> parse_file(std::string_view bytes, const ParseOptions& options = {});

// A file of many messages or an FHS/BHS batch; the messages only.
Result<std::vector<Message>> parse_many(std::string_view bytes);

}  // namespace hisgate::hl7
