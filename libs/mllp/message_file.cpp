#include "mllp/message_file.h"

#include <fstream>
#include <iterator>

#include "hl7/batch.h"

namespace hisgate::mllp {

Result<std::vector<std::string>> read_message_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorClass::NotFound, "mllp.file_unreadable", "cannot read message file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = hl7::parse_many(text);
    if (!parsed.ok()) {
        Error e = parsed.error();
        e.message = path + ": " + e.message;
        return e;
    }
    std::vector<std::string> messages;
    messages.reserve(parsed->size());
    for (const auto& m : *parsed) messages.push_back(m.serialize());
    return messages;
}

}  // namespace hisgate::mllp
