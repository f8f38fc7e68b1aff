#include "mllp/message_file.h"

#include <fstream>
#include <iterator>

namespace hisgate::mllp {

std::vector<std::string> split_messages(std::string_view text) {
    std::vector<std::string> messages;
    bool in_message = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        // CRLF counts as one line end.
        pos = end + ((end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n') ? 2 : 1);

        if (line.substr(0, 3) == "MSH") {
            messages.emplace_back();
            in_message = true;
        } else if (line.empty()) {
            in_message = false;
            continue;
        }
        if (!in_message) continue;
        messages.back().append(line);
        messages.back().push_back('\r');
    }
    return messages;
}

Result<std::vector<std::string>> read_message_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorClass::NotFound, "mllp.file_unreadable", "cannot read message file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return split_messages(text);
}

}  // namespace hisgate::mllp
