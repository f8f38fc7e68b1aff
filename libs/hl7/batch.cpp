#include "hl7/batch.h"

#include <cstring>
#include <string>

namespace hisgate::hl7 {

namespace {

std::string preview(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

Error structure_error(std::string what, std::size_t offset) {
    return make_error(ErrorClass::BadInput, "hl7.batch_structure", what + " (at byte " + std::to_string(offset) + ")");
}

}  // namespace

std::string_view EnvelopeSegment::field(std::size_t n) const {
    if (n == 0 || text.size() <= 3) return {};
    if (name() == "FHS" || name() == "BHS") {
        if (n == 1) return text.substr(3, 1);
        return Pieces(text.substr(4), delimiters.field).at(n - 2);
    }
    return Pieces(text.substr(4), delimiters.field).at(n - 1);
}

Result<FileLayout> split_file(std::string_view bytes) {
    FileLayout layout;
    const std::size_t n = bytes.size();
    std::size_t pos = 0;
    std::size_t message_start = std::string_view::npos;  // of the message being collected
    std::size_t message_end = 0;                          // past its last terminator
    std::size_t skipped_start = std::string_view::npos;   // of text outside any message
    std::size_t skipped_end = 0;
    // Open headers, as indexes into layout.envelope (which grows).
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t file_header = kNone, batch_header = kNone;
    std::size_t batch_messages = 0;

    auto close_message = [&] {
        if (message_start == std::string_view::npos) return;
        layout.messages.push_back(
            {bytes.substr(message_start, message_end - message_start), message_start, layout.messages.size() + 1});
        ++batch_messages;
        message_start = std::string_view::npos;
    };
    auto close_skipped = [&] {
        if (skipped_start == std::string_view::npos) return;
        layout.notices.push_back({"hl7.skipped_text",
                                  std::to_string(skipped_end - skipped_start) +
                                      " bytes outside any message skipped, starting '" +
                                      preview(bytes.substr(skipped_start, skipped_end - skipped_start)) + "'",
                                  skipped_start});
        skipped_start = std::string_view::npos;
    };

    while (pos < n) {
        std::size_t end = pos;
        while (end < n && bytes[end] != '\r' && bytes[end] != '\n') ++end;
        std::size_t after = end;
        if (after < n) after += (bytes[after] == '\r' && after + 1 < n && bytes[after + 1] == '\n') ? 2 : 1;
        std::string_view line = bytes.substr(pos, end - pos);
        std::string_view name = line.substr(0, 3);

        if (line.empty()) {
            close_message();
        } else if (name == "MSH") {
            close_message();
            close_skipped();
            message_start = pos;
        } else if (name == "FHS" || name == "BHS" || name == "BTS" || name == "FTS") {
            close_message();
            close_skipped();
            EnvelopeSegment seg{line, pos, {}};
            if (name == "FHS" || name == "BHS") {
                auto declared = read_delimiters(line);
                if (!declared.ok()) {
                    return make_error(ErrorClass::BadInput, declared.error().code,
                                      declared.error().message + " (in the " + std::string(name) + " at byte " +
                                          std::to_string(pos) + ")");
                }
                seg.delimiters = declared->delimiters;
            }
            if (name == "FHS") {
                if (file_header != kNone || batch_header != kNone)
                    return structure_error("FHS inside an open file or batch; expected FTS or BTS first", pos);
                file_header = layout.envelope.size();
            } else if (name == "BHS") {
                if (batch_header != kNone)
                    layout.notices.push_back({"hl7.batch_structure", "BHS without BTS before the next BHS", pos});
                batch_header = layout.envelope.size();
                batch_messages = 0;
            } else if (name == "BTS") {
                if (batch_header == kNone)
                    return structure_error("BTS without an open BHS; expected BHS before it", pos);
                seg.delimiters = layout.envelope[batch_header].delimiters;
                // BTS-1 is the count of messages in the batch; a mismatch is reported.
                std::string_view count = seg.field(1);
                if (!count.empty() && count != std::to_string(batch_messages)) {
                    layout.notices.push_back({"hl7.batch_count",
                                              "BTS-1 says " + std::string(count) + " messages; the batch holds " +
                                                  std::to_string(batch_messages),
                                              pos});
                }
                batch_header = kNone;
            } else {
                if (file_header == kNone)
                    return structure_error("FTS without FHS; expected FHS at the start of the file", pos);
                if (batch_header != kNone)
                    layout.notices.push_back({"hl7.batch_structure", "FTS while a batch is open; expected BTS first", pos});
                seg.delimiters = layout.envelope[file_header].delimiters;
                file_header = batch_header = kNone;
            }
            layout.envelope.push_back(seg);
        } else if (message_start != std::string_view::npos) {
            // a segment of the current message
        } else {
            if (skipped_start == std::string_view::npos) skipped_start = pos;
            skipped_end = end;
        }
        if (message_start != std::string_view::npos) message_end = after;
        pos = after;
    }
    close_message();
    close_skipped();
    if (batch_header != kNone) layout.notices.push_back({"hl7.batch_structure", "BHS without BTS at the end of the file", n});
    if (file_header != kNone) layout.notices.push_back({"hl7.batch_structure", "FHS without FTS at the end of the file", n});
    return layout;
}

Result<Batch> parse_file(std::string_view bytes, const ParseOptions& options) {
    auto layout = split_file(bytes);
    if (!layout.ok()) return layout.error();
    if (layout->messages.empty()) {
        return make_error(ErrorClass::BadInput, "hl7.empty",
                          "no message found in " + std::to_string(bytes.size()) +
                              " bytes; expected at least one segment starting with MSH");
    }
    Batch batch;
    batch.envelope = std::move(layout->envelope);
    batch.notices = std::move(layout->notices);
    batch.messages.reserve(layout->messages.size());
    for (const MessageSpan& span : layout->messages) {
        ParseOptions o = options;
        o.base_offset = span.offset;
        o.message_number = span.number;
        auto m = Message::parse(span.bytes, o);
        if (!m.ok()) return m.error();
        for (const Notice& notice : m->notices()) batch.notices.push_back(notice);
        batch.messages.push_back(std::move(m).value());
    }
    return batch;
}

Result<std::vector<Message>> parse_many(std::string_view bytes) {
    auto batch = parse_file(bytes);
    if (!batch.ok()) return batch.error();
    return std::move(batch->messages);
}

}  // namespace hisgate::hl7
