// A report's status and times as HIS interfaces write them (HL7 v2 result-status letters,
// DTM timestamps), read into the words and ISO 8601 the platform speaks. One reading for
// the agent's adapters (which pass on what they cannot read) and the control plane's FHIR
// mapping (which says "unknown" or leaves a time out).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hisgate::hl7 {

// A result status (OBR-25 letter, HL7 table 0123, or the word a REST/SOAP HIS writes; either
// case) as FHIR's DiagnosticReport.status: F -> final, P/R -> preliminary, C -> corrected,
// A -> partial, M -> amended, X -> cancelled, O/I/S -> registered ("pending" too).
// nullopt for anything else.
std::optional<std::string> report_status(std::string_view letter_or_word);

// An HL7 DTM at any precision it allows -> ISO 8601 at the same precision:
// 2024 -> 2024, 20240101 -> 2024-01-01, 202401011200 -> 2024-01-01T12:00,
// 20240101120000.123+0800 -> 2024-01-01T12:00:00.123+08:00 (an hour alone reads HH:00; an
// offset on a bare date is dropped). nullopt for anything that is not a DTM.
std::optional<std::string> iso_timestamp(std::string_view dtm);

}  // namespace hisgate::hl7
