#include "tests/support/hl7_corpus.h"

#include <cstdlib>

namespace hisgate::testing {

std::filesystem::path hl7_corpus_path() {
    const char* env = std::getenv("HISGATE_HL7_CORPUS");
    return env && *env ? std::filesystem::path(env) : std::filesystem::path(HISGATE_CORPUS_DIR);
}

std::optional<std::filesystem::path> hl7_corpus() {
    auto path = hl7_corpus_path();
    std::error_code ec;
    if (std::filesystem::is_directory(path / "good", ec) && std::filesystem::is_directory(path / "bad", ec)) return path;
    return std::nullopt;
}

}  // namespace hisgate::testing
