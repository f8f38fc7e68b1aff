// A hospital's refusal of a change, as the ledger keeps it: the REJECTED entry's evidence
// is "reply:rejected" followed by the refusal's code when the hospital named one, e.g.
// "reply:rejected appointment.max_days_ahead.too_far" (an appointment rule the agent
// checked, docs/appointment-rules.md). The code is what a patient's screen turns into
// words (which rule, what to do); the hospital's message is not kept: it is free text from
// outside, and the code alone says which rule.
//
// Invariant: a code is kept only when it is a well-formed code (lower-case dotted words,
// at most kMaxRefusalCode bytes); anything else leaves plain "reply:rejected", so a
// hospital cannot write free text into the ledger through it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hisgate::ledger {

inline constexpr size_t kMaxRefusalCode = 96;

// True for "word.word[.word...]", each word [a-z0-9_]+ starting with a letter, at most
// kMaxRefusalCode bytes.
bool is_refusal_code(std::string_view code);

// The evidence of a change the hospital refused: "reply:rejected", plus " <code>" when
// `code` is a well-formed refusal code.
std::string rejected_reply_evidence(std::string_view code);

// The refusal code an entry's evidence names ("reply:rejected <code>", or the same after
// "late " when the reply settled a doubt), or nullopt.
std::optional<std::string> refusal_code_of(std::string_view evidence);

}  // namespace hisgate::ledger
