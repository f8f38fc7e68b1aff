// Acknowledgments (ACK messages) in original mode (AA/AE/AR) and enhanced mode (CA/CE/CR,
// then the application ACK), chosen by the original's MSH-15/MSH-16.
//
// Rules: MSA-2 echoes the original MSH-10; an error code comes with an ERR segment that
// names the error's location and HL7 table 0357 code; problems in MSH-9, -11, -12 (and
// unreadable headers or charsets) reject (AR/CR), content errors are errors (AE/CE); an
// ACK is never acknowledged. The ACK uses the original's delimiters, charset and version.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hl7/message.h"

namespace hisgate::hl7 {

enum class AckCode { AA, AE, AR, CA, CE, CR };
std::string_view to_string(AckCode code);

enum class AckMode { Original, Enhanced };
// Enhanced when MSH-15 or MSH-16 is valued.
AckMode ack_mode(const Message& original);

// Enhanced mode: whether the sender asked for this ACK (HL7 table 0155: AL always, NE
// never, ER on error only, SU on success only; empty means AL). Always true in original
// mode for the application ACK.
bool accept_ack_wanted(const Message& original, bool error);
bool application_ack_wanted(const Message& original, bool error);

// Versions before 2.5 carry an error in ERR-1 (ELD: segment ^ sequence ^ field ^ code, the
// code a CE whose first subcomponent is the identifier) and its text in MSA-3; from 2.5 on
// in ERR-2 (ERL), ERR-3 (the code), ERR-4 and ERR-8. `version` is MSH-12's first component.
bool error_in_err1(std::string_view version);
// The path of the error code's identifier in ERR for `version`: ERR-1-4-1 or ERR-3-1.
const char* err_code_path(std::string_view version);

// An error to report in ERR.
struct AckError {
    std::string hl7_code = "207";   // table 0357, e.g. 101 required field missing, 203 unsupported version
    std::string segment;            // where, when known: segment ID, its occurrence, field
    std::size_t sequence = 0;
    std::size_t field = 0;
    std::string text;               // for people; kept out of logs when it may hold PHI
};

// Builds the ACK for `original`; MSA-2 = original MSH-10; ERR when code is an error.
std::string make_ack(const Message& original, AckCode code, std::string_view error_text = {});
std::string make_ack(const Message& original, AckCode code, const AckError& error);

// Decides the ACK for raw incoming bytes (parse errors -> AR/AE with ERR), returns "" when
// no ACK is to be sent: the input is itself an ACK, or enhanced-mode MSH-15 declines it.
std::string ack_for(std::string_view raw_message, const ParseOptions& options = {});

}  // namespace hisgate::hl7
