// Reading files of HL7 messages to send over MLLP (the CLI's `hl7 send FILE`, the
// benchmark, the fuzzer's seeds). A file holds one or more messages; segments end with
// CR, LF or CRLF. Each message starts at a line beginning "MSH" and runs to the next
// such line or to a blank line; lines outside a message (comments, batch headers) are
// skipped. Messages come back with CR segment ends, as MLLP carries them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::mllp {

std::vector<std::string> split_messages(std::string_view text);

// Reads `path` and splits it. Errors: NotFound "mllp.file_unreadable".
Result<std::vector<std::string>> read_message_file(const std::string& path);

}  // namespace hisgate::mllp
