// What ties an answer to its message: a message's control id (MSH-10), and the control
// id an acknowledgement or application response refers to (MSA-2). These are the only
// places the transport looks inside HL7 (through hisgate::hl7; never its own parsing).
#pragma once

#include <string>
#include <string_view>

#include "hl7/ack.h"

namespace hisgate::mllp {

// Each reads a message whose MSH-18 is empty in `options.default_charset` (the peer's
// configured charset), so a GB 18030 answer that does not declare itself still matches.

// MSH-10 of `message`; "" if it has none or does not parse.
std::string control_id(std::string_view message, const hl7::ParseOptions& options = {});

// MSA-2 of `response`; "" if it has none or does not parse.
std::string acknowledged_id(std::string_view response, const hl7::ParseOptions& options = {});
// MSA-1 of `response` (AA, AE, AR, CA, CE, CR); "" if it has none or does not parse.
std::string acknowledgment_code(std::string_view response, const hl7::ParseOptions& options = {});

// The key a stored message is filed under: sending facility, sending application and
// control id (MSH-4, MSH-3, MSH-10), which together identify a message and its retries;
// "" if the message has no control id.
std::string store_key(std::string_view message);

// A negative original-mode acknowledgement (AE: could not process, AR: rejected) for a
// message the server cannot take, built from its MSH segment alone, so the head of an
// oversize frame suffices. "" if even the MSH segment does not parse: then the only
// answer left is to close the connection.
std::string negative_ack(std::string_view message_head, hl7::AckCode code, std::string_view reason);

}  // namespace hisgate::mllp
