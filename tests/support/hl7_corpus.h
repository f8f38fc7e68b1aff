// The external HL7 corpus, an extra conformance suite beside the project's own generated
// fixtures: $HISGATE_HL7_CORPUS when set, else ../shared/hl7-corpus beside the checkout
// (CMake's HISGATE_CORPUS_DIR). The suite passes without it.
#pragma once

#include <filesystem>
#include <optional>

namespace hisgate::testing {

// Where the corpus would be; exists or not.
std::filesystem::path hl7_corpus_path();

// The corpus directory when it holds good/ and bad/, else nothing.
std::optional<std::filesystem::path> hl7_corpus();

}  // namespace hisgate::testing
