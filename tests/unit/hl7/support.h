// Helpers shared by the HL7 tests.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/ack.h"
#include "hl7/batch.h"
#include "hl7/json.h"
#include "tests/support/mutation.h"

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

// Everything a caller may do with untrusted bytes; must not crash, hang or throw.
inline void exercise(std::string_view bytes) {
    using namespace hisgate::hl7;
    auto batch = parse_file(bytes);
    if (batch.ok()) {
        Stats stats;
        for (const Message& m : batch->messages) {
            stats.add(m);
            std::string json;
            append_json(m, json);
            CHECK(m.serialize().size() > 0);
        }
    } else {
        CHECK_FALSE(batch.error().message.empty());
    }
    auto single = Message::parse(bytes);
    if (single.ok()) {
        (void)single->get("PID-5-1");
        (void)single->get("OBX[2]-5(2)-1-1");
    }
    (void)ack_for(bytes);
}

// `s` after 1 to 8 seeded random byte edits (tests/support/mutation.h) with HL7's delimiters,
// escapes and segment names as the interesting bytes.
template <class Rng>
std::string mutated(std::string s, const std::vector<std::string>& seeds, Rng& rng) {
    static const std::string interesting = "|^~\\&#\r\nMSHFHSBHSBTSFTSX0D\xC3\xA9\x81\x7C\xFF";
    return hisgate_test::mutated(std::move(s), seeds, rng, interesting);
}

}  // namespace hl7_test
