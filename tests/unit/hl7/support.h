// Helpers shared by the HL7 tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

namespace hl7_test {

// Segments joined and terminated by CR, as a sender puts them on the wire.
inline std::string wire(std::initializer_list<std::string_view> segments) {
    std::string out;
    for (auto s : segments) {
        out += s;
        out += '\r';
    }
    return out;
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::filesystem::path corpus(std::string_view sub) { return std::filesystem::path(HISGATE_CORPUS_DIR) / sub; }

}  // namespace hl7_test
