// `hisgate hl7 parse|ack` through hl7_parse_main, with standard output and error captured.
#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>

#include "cli/commands.h"
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

TEST_CASE("hl7 parse --stats counts the good corpus file") {
    Run r = run({"parse", "--stats", (hl7_test::corpus("good/hapi/ADT_A01.txt")).string()});
    CHECK(r.status == 0);
    CHECK(r.out.rfind("messages=1 segments=7 fields=", 0) == 0);
    CHECK(r.out.find(" leaves=") != std::string::npos);
}

TEST_CASE("hl7 parse: bad input is a clear error and a non-zero status") {
    std::string f = temp_file("bad.hl7", hl7_test::wire({"MSH|^~\\&|A", "PID|1"}) + hl7_test::wire({"MSH|^~\\&|B", "pid|1"}));
    Run r = run({"parse", "--json", f});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
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
