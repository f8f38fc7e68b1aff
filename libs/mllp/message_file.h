// Reading files of HL7 messages to send over MLLP (the CLI's `hl7 send FILE`, the
// benchmark, the fuzzer's seeds). The file layout (one or more messages, CR/LF/CRLF
// segment ends, optional FHS/BHS envelope) is the HL7 layer's to read; this returns each
// message serialized with CR segment ends, as MLLP carries them.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::mllp {

// Errors: NotFound "mllp.file_unreadable", and the HL7 layer's parse errors (which name
// the message number and byte offset).
Result<std::vector<std::string>> read_message_file(const std::string& path);

}  // namespace hisgate::mllp
