// `hisgate hl7 parse|ack` through hl7_parse_main, with standard output and error captured.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "hl7-gen/generator.h"
#include "support.h"

namespace {

struct Run {
    int status;
    std::string out, err;
};

Run run(const hisgate::cli::Args& args) {
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    int status = hisgate::cli::hl7_parse_main(args);
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return {status, out.str(), err.str()};
}

std::string temp_file(const std::string& name, const std::string& bytes) {
    auto path = std::filesystem::path(HISGATE_BINARY_DIR) / ("hl7-cli-test-" + name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
}

}  // namespace

TEST_CASE("hl7 parse --json prints one JSON line per message") {
    std::string f = temp_file("two.hl7", hl7_test::wire({"MSH|^~\\&|A||||||ADT^A01|1|P|2.5", "PID|1||\\F\\x"}) + "\n" +
                                             hl7_test::wire({"MSH|^~\\&|B||||||ADT^A08|2|P|2.5"}));
    Run r = run({"parse", "--json", f});
    CHECK(r.status == 0);
    CHECK(r.out ==
          R"([["MSH",[[["|"]]],[[["^~\\&"]]],[[["A"]]],[[[""]]],[[[""]]],[[[""]]],[[[""]]],[[[""]]],[[["ADT"],["A01"]]],[[["1"]]],[[["P"]]],[[["2.5"]]]],["PID",[[["1"]]],[[[""]]],[[["|x"]]]]])"
          "\n"
          R"([["MSH",[[["|"]]],[[["^~\\&"]]],[[["B"]]],[[[""]]],[[[""]]],[[[""]]],[[[""]]],[[[""]]],[[["ADT"],["A08"]]],[[["2"]]],[[["P"]]],[[["2.5"]]]]])"
          "\n");
    // The blank line between the messages is a CR then LF: reported, not an error.
    Run summary = run({"parse", f});
    CHECK(summary.out == "message 1: ADT^A01 control_id=1 segments=2 charset=UNICODE UTF-8\n"
                         "message 2: ADT^A08 control_id=2 segments=1 charset=UNICODE UTF-8\n");
}

TEST_CASE("hl7 parse --stats counts a generated file") {
    auto messages = hisgate::hl7gen::generate(4, 25);
    std::size_t segments = 0;
    for (const auto& m : messages) segments += m.segments;
    Run r = run({"parse", "--stats", temp_file("stats.hl7", hisgate::hl7gen::file_of(messages))});
    CHECK(r.status == 0);
    CHECK(r.out.rfind("messages=25 segments=" + std::to_string(segments) + " fields=", 0) == 0);
    CHECK(r.out.find(" leaves=") != std::string::npos);
}

TEST_CASE("hl7 parse: one broken message among thousands is reported, the rest still processed") {
    namespace gen = hisgate::hl7gen;
    const std::size_t count = 3000, broken = 1234;
    for (gen::Defect defect : gen::kAllDefects) {
        auto messages = gen::generate(99, count);
        std::string file;
        std::size_t offset = 0;
        for (std::size_t i = 1; i <= count; ++i) {
            if (i == broken) offset = file.size();
            file += i == broken ? gen::break_message(messages[i - 1].bytes, defect) : messages[i - 1].bytes;
        }
        INFO(gen::error_code(defect));
        std::string f = temp_file("one-broken.hl7", file);

        Run r = run({"parse", f});
        CHECK(r.status == 1);
        // Every other message is printed, in order, under its own number.
        CHECK(static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n')) == count - 1);
        CHECK(r.out.find("message " + std::to_string(broken - 1) + ": ") != std::string::npos);
        CHECK(r.out.find("message " + std::to_string(broken) + ": ") == std::string::npos);
        CHECK(r.out.find("message " + std::to_string(broken + 1) + ": " + messages[broken].type + " control_id=" +
                         messages[broken].control_id) != std::string::npos);
        CHECK(r.out.find("message " + std::to_string(count) + ": ") != std::string::npos);
        // The broken one: its number, the byte in the file, the reason.
        CHECK(r.err.find(std::string(gen::error_code(defect))) != std::string::npos);
        auto where = r.err.find("in message " + std::to_string(broken) + ", at byte ");
        REQUIRE(where != std::string::npos);
        std::size_t byte = std::stoul(r.err.substr(where + r.err.substr(where).find("byte ") + 5));
        CHECK(byte >= offset);
        CHECK(byte < offset + messages[broken - 1].bytes.size() + 20);
        CHECK(r.err.find("1 of 3000 messages failed to parse") != std::string::npos);

        Run stats = run({"parse", "--stats", f});
        CHECK(stats.status == 1);
        CHECK(stats.out.rfind("messages=2999 ", 0) == 0);
    }
}

TEST_CASE("hl7 parse: bad input is a clear error and a non-zero status") {
    std::string f = temp_file("bad.hl7", hl7_test::wire({"MSH|^~\\&|A", "PID|1"}) + hl7_test::wire({"MSH|^~\\&|B", "pid|1"}));
    Run r = run({"parse", "--json", f});
    CHECK(r.status == 1);
    // Message 1 is good and printed; message 2 is reported.
    CHECK(r.out.rfind(R"([["MSH",)", 0) == 0);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    CHECK(r.err.find("hl7.segment_name") != std::string::npos);
    CHECK(r.err.find("in message 2, at byte 28, segment 2") != std::string::npos);
    CHECK(r.err.find("expected") != std::string::npos);

    CHECK(run({"parse", "/nonexistent/file.hl7"}).status == 2);
    CHECK(run({"parse", "--json", "--stats", f}).status == 2);
    CHECK(run({"parse"}).status == 2);
    CHECK(run({"parse", "--charset", "KLINGON", f}).status == 2);
    CHECK(run({"frobnicate", f}).status == 2);
}

TEST_CASE("hl7 parse --charset reads messages without MSH-18 in the hospital's charset") {
    std::string f = temp_file("latin.hl7", hl7_test::wire({"MSH|^~\\&|A||||||ADT^A01|1|P|2.5", "PID|1||Ren\xE9"}));
    CHECK(run({"parse", "--json", f}).status == 1);
    Run r = run({"parse", "--json", "--charset", "8859/1", f});
    CHECK(r.status == 0);
    CHECK(r.out.find(R"([[["René"]]])") != std::string::npos);
}

TEST_CASE("hl7 ack prints each message's ACK - errors make the status non-zero") {
    std::string good = temp_file("ack-good.hl7", hl7_test::wire({"MSH|^~\\&|A|B|C|D|1||ADT^A01|M1|P|2.5", "PID|1"}));
    Run r = run({"ack", good});
    CHECK(r.status == 0);
    CHECK(r.out.find("\nMSA|AA|M1\n") != std::string::npos);

    std::string mixed = temp_file("ack-mixed.hl7", hl7_test::wire({"MSH|^~\\&|A|B|C|D|1||ADT^A01|M1|P|2.5"}) +
                                                       hl7_test::wire({"MSH|^~\\&|A|B|C|D|1||ADT^A01|M2|P|9.9"}) +
                                                       hl7_test::wire({"MSH|^~\\&|A|B|C|D|1||ACK^A01|M3|P|2.5", "MSA|AA|X"}));
    Run m = run({"ack", mixed});
    CHECK(m.status == 1);
    CHECK(m.out.find("MSA|AA|M1") != std::string::npos);
    CHECK(m.out.find("MSA|AR|M2") != std::string::npos);
    CHECK(m.out.find("M3") == std::string::npos);
    CHECK(m.err.find("message 3") != std::string::npos);
}
