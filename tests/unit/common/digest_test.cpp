// common/digest.h: SHA-256 against a known vector, and hex both ways with its one spelling.
#include <catch2/catch.hpp>

#include "common/digest.h"

using namespace hisgate;

TEST_CASE("sha256_hex and hex both ways", "[digest]") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string bytes("\x00\x01\x7f\x80\xff", 5);
    CHECK(to_hex(bytes) == "00017f80ff");
    CHECK(from_hex("00017f80ff").value() == bytes);
    CHECK(from_hex("").value().empty());
    CHECK_FALSE(from_hex("abc").has_value());  // odd length
    CHECK_FALSE(from_hex("0G").has_value());
    CHECK_FALSE(from_hex("FF").has_value());  // uppercase is another spelling of the same bytes
}
