// Conformance over the external corpus (tests/support/hl7_corpus.h; skipped when absent):
// every good message round-trips byte for byte, every bad file parses or fails with an
// error, and seeded mutations of both never crash. generated_test.cpp holds the same
// properties over the project's own generated messages, run everywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>

#include "support.h"
#include "tests/support/hl7_corpus.h"

using namespace hisgate::hl7;
namespace fs = std::filesystem;

namespace {

fs::path corpus(std::string_view sub) { return *hisgate::testing::hl7_corpus() / sub; }

std::vector<fs::path> files_under(const fs::path& dir) {
    std::vector<fs::path> out;
    for (auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename() != "INDEX.txt") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// The message as it must serialize: every segment terminator (CR, LF or CRLF) a CR, the
// last one included. A bare LF that is not followed by a segment ID (three capitals or
// digits, then the field separator MSH-1 or the line's end) is a line break inside a
// field and stays.
std::string normalised(std::string_view bytes) {
    auto capital_or_digit = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    auto segment_follows = [&](std::size_t p) {
        if (p >= bytes.size() || bytes[p] == '\r' || bytes[p] == '\n') return true;
        if (p + 3 > bytes.size()) return false;
        for (std::size_t k = p; k < p + 3; ++k)
            if (!capital_or_digit(bytes[k])) return false;
        char next = p + 3 < bytes.size() ? bytes[p + 3] : '\r';
        return next == bytes[3] || next == '\r' || next == '\n';
    };
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') continue;
        bool terminator = bytes[i] == '\n' && (out.empty() || out.back() == '\r' || segment_follows(i + 1));
        out += terminator ? '\r' : bytes[i];
    }
    if (!out.empty() && out.back() != '\r') out += '\r';
    return out;
}

std::size_t lines_starting_with_msh(std::string_view bytes) {
    std::size_t n = 0;
    for (std::size_t pos = 0; pos < bytes.size();) {
        if (bytes.substr(pos, 3) == "MSH") ++n;
        std::size_t end = bytes.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return n;
}

}  // namespace

TEST_CASE("good corpus: every message round-trips byte for byte") {
    std::size_t messages = 0, files = 0;
    for (const fs::path& file : files_under(corpus("good"))) {
        std::string bytes = hl7_test::read_file(file);
        INFO(file.string());
        auto layout = split_file(bytes);
        REQUIRE(layout.ok());
        // Independent of the splitter: one message per line that starts with MSH.
        CHECK(layout->messages.size() == lines_starting_with_msh(bytes));
        for (const MessageSpan& span : layout->messages) {
            INFO("message " << span.number << " at byte " << span.offset);
            auto m = Message::parse(span.bytes);
            REQUIRE(m.ok());
            CHECK(m->serialize() == normalised(span.bytes));
            ++messages;
        }
        ++files;
    }
    CHECK(files == 141);
    CHECK(messages >= 150);
    std::cout << "good corpus: " << files << " files, " << messages << " messages round-tripped\n";
}

TEST_CASE("good corpus: files parse whole, except those holding no message") {
    for (const fs::path& file : files_under(corpus("good"))) {
        std::string bytes = hl7_test::read_file(file);
        INFO(file.string());
        auto batch = parse_file(bytes);
        if (lines_starting_with_msh(bytes) == 0) {
            REQUIRE_FALSE(batch.ok());
            CHECK(batch.error().code == "hl7.empty");
        } else {
            REQUIRE(batch.ok());
        }
    }
}

TEST_CASE("the uuencoded OBX sample decodes its escapes and re-escapes to the same bytes") {
    std::string value = hl7_test::read_file(corpus("good/hapi/uuencoded_escaped.txt"));
    REQUIRE(value.size() > 80000);
    auto m = Message::parse("MSH|^~\\&|A\rOBX|1|ED|||" + value + "\r");
    REQUIRE(m.ok());
    std::string decoded = m->get("OBX-5");
    CHECK(decoded.substr(0, 14) == "begin 644 WAV.");
    CHECK(decoded.find("\r\n") != std::string::npos);
    CHECK(decoded.find('\\') != std::string::npos);
    Message built = Message::create();
    REQUIRE(built.set("OBX-5", decoded).ok());
    CHECK(built.get("OBX-5") == decoded);
}

TEST_CASE("bad corpus: every file parses or fails with an error, never a crash") {
    std::size_t failed = 0, parsed = 0;
    for (const fs::path& file : files_under(corpus("bad"))) {
        std::string bytes = hl7_test::read_file(file);
        INFO(file.string());
        hl7_test::exercise(bytes);
        (parse_file(bytes).ok() ? parsed : failed)++;
    }
    CHECK(failed + parsed == 37);
    std::cout << "bad corpus: " << parsed << " parsed, " << failed << " failed with an error\n";
}

TEST_CASE("seeded random mutations of the corpus never crash") {
    const std::uint32_t seed = 20240611;
    std::cout << "mutation seed " << seed << "\n";
    std::mt19937 rng(seed);
    std::vector<std::string> seeds;
    for (const char* dir : {"good", "bad"})
        for (const fs::path& f : files_under(corpus(dir))) seeds.push_back(hl7_test::read_file(f));
    for (int round = 0; round < 3000; ++round) {
        std::string s = seeds[rng() % seeds.size()];
        if (s.size() > 4096) s.resize(4096);
        hl7_test::exercise(hl7_test::mutated(std::move(s), seeds, rng));
    }
}
