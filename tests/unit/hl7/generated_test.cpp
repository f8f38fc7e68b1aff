// The project's own fixtures (tools/hl7-gen): generated messages of every kind and charset
// parse and serialize back to the same bytes, files of them parse whole, every defect
// break_message makes is refused with its own error code, and seeded mutations never
// crash. corpus_test.cpp checks the same over the external corpus when it is present.
#include <catch2/catch.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "hl7-gen/generator.h"
#include "support.h"

using namespace hisgate::hl7;
namespace gen = hisgate::hl7gen;

TEST_CASE("generated messages: the same seed gives the same bytes, another seed others") {
    CHECK(gen::file_of(gen::generate(7, 50)) == gen::file_of(gen::generate(7, 50)));
    CHECK(gen::file_of(gen::generate(7, 50)) != gen::file_of(gen::generate(8, 50)));
}

TEST_CASE("generated messages: every one round-trips byte for byte, in every kind and charset") {
    std::map<std::string, std::size_t> types, charsets;
    for (const gen::Generated& g : gen::generate(20240611, 2000)) {
        INFO(g.type << " " << g.charset << "\n" << g.bytes);
        auto m = Message::parse(g.bytes);
        REQUIRE(m.ok());
        CHECK(m->serialize() == g.bytes);
        CHECK(m->segment_count() == g.segments);
        CHECK(m->get("MSH-10") == g.control_id);
        CHECK(m->get("MSH-9-1") + "^" + m->get("MSH-9-2") == g.type);
        CHECK(m->notices().empty());
        ++types[g.type];
        ++charsets[g.charset];
    }
    CHECK(types.size() == std::size(gen::kAllKinds));
    for (const char* charset : {"", "ASCII", "UNICODE UTF-8", "8859/1", "GB 18030-2000"}) CHECK(charsets[charset] > 0);
}

TEST_CASE("generated messages: CJK names in GB 18030 read back as the same UTF-8 text") {
    gen::Generator g(3);
    std::size_t seen = 0;
    for (int i = 0; i < 400; ++i) {
        gen::Generated m = g.next(gen::Kind::Admit);
        if (m.charset != "GB 18030-2000") continue;
        auto parsed = Message::parse(m.bytes);
        REQUIRE(parsed.ok());
        CHECK(parsed->charset() == Charset::Gb18030);
        std::string family = parsed->get("PID-5-1");
        // Every Chinese family name the generator knows is one or two CJK characters (3 UTF-8 bytes each).
        CHECK((family.size() == 3 || family.size() == 6));
        CHECK(static_cast<unsigned char>(family[0]) >= 0xE4);
        ++seen;
    }
    CHECK(seen > 20);
}

TEST_CASE("generated files: thousands of messages parse whole, numbered with their byte offsets") {
    auto messages = gen::generate(11, 3000);
    std::string file = gen::file_of(messages);
    auto layout = split_file(file);
    REQUIRE(layout.ok());
    REQUIRE(layout->messages.size() == messages.size());
    std::size_t offset = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        CHECK(layout->messages[i].number == i + 1);
        CHECK(layout->messages[i].offset == offset);
        offset += messages[i].bytes.size();
    }
    auto batch = parse_file(file);
    REQUIRE(batch.ok());
    CHECK(batch->messages.size() == 3000);
    CHECK(batch->notices.empty());
}

TEST_CASE("generated defects: each is refused with its error code, naming the message and its byte") {
    auto messages = gen::generate(5, 40);
    for (gen::Defect defect : gen::kAllDefects) {
        for (std::size_t broken = 0; broken < messages.size(); ++broken) {
            std::string file;
            std::size_t offset = 0;
            for (std::size_t i = 0; i < messages.size(); ++i) {
                if (i == broken) offset = file.size();
                file += i == broken ? gen::break_message(messages[i].bytes, defect) : messages[i].bytes;
            }
            INFO(gen::error_code(defect) << " in message " << broken + 1 << " (" << messages[broken].type << " "
                                         << messages[broken].charset << ")");
            auto batch = parse_file(file);
            REQUIRE_FALSE(batch.ok());
            CHECK(batch.error().code == gen::error_code(defect));
            CHECK(batch.error().message.find("in message " + std::to_string(broken + 1) + ", at byte ") != std::string::npos);
            // The byte named lies within the broken message.
            auto at = batch.error().message.find(", at byte ");
            std::size_t byte = std::stoul(batch.error().message.substr(at + 10));
            CHECK(byte >= offset);
            CHECK(byte < offset + messages[broken].bytes.size() + 20);
        }
    }
}

TEST_CASE("seeded random mutations of generated messages never crash") {
    const std::uint32_t seed = 20240611;
    std::cout << "mutation seed " << seed << "\n";
    std::mt19937 rng(seed);
    std::vector<std::string> seeds;
    for (const gen::Generated& g : gen::generate(seed, 300)) seeds.push_back(g.bytes);
    for (gen::Defect d : gen::kAllDefects) seeds.push_back(gen::break_message(seeds[seeds.size() % 300], d));
    seeds.push_back(gen::file_of(gen::generate(seed + 1, 5)));
    for (int round = 0; round < 3000; ++round) {
        std::string s = seeds[rng() % seeds.size()];
        if (s.size() > 4096) s.resize(4096);
        hl7_test::exercise(hl7_test::mutated(std::move(s), seeds, rng));
    }
}
