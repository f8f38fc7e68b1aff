// Ids are unpredictable: the attack of issue 12 (ids from mt19937_64, whose state 312
// consecutive outputs reveal) must not work on them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <sstream>

#include "common/random_id.h"
#include "common/trace.h"

using namespace hisgate;

namespace {
// random_hex(8) as the 64-bit word an mt19937_64 output would have been (low nibble first,
// as the old generator wrote it).
uint64_t as_mt_output(const std::string& hex) {
    uint64_t r = 0;
    for (size_t i = 0; i < hex.size(); ++i) {
        char c = hex[i];
        uint64_t nibble = c <= '9' ? static_cast<uint64_t>(c - '0') : static_cast<uint64_t>(c - 'a' + 10);
        r |= nibble << (4 * i);
    }
    return r;
}

uint64_t undo_right(uint64_t y, int shift) {
    uint64_t x = y;
    for (int i = 0; i < 64 / shift + 1; ++i) x = y ^ (x >> shift);
    return x;
}
uint64_t undo_left(uint64_t y, int shift, uint64_t mask) {
    uint64_t x = y;
    for (int i = 0; i < 64 / shift + 1; ++i) x = y ^ ((x << shift) & mask);
    return x;
}
// The inverse of mt19937_64's tempering: the generator's state word behind an output.
uint64_t untemper(uint64_t y) {
    y = undo_right(y, 43);
    y = undo_left(y, 37, 0xFFF7EEE000000000ULL);
    y = undo_left(y, 17, 0x71D67FFFEDA60000ULL);
    uint64_t x = y;
    for (int i = 0; i < 64 / 29 + 1; ++i) x = y ^ ((x >> 29) & 0x5555555555555555ULL);
    return x;
}
}  // namespace

TEST_CASE("random_id: ids are 32 lowercase hex digits and never repeat") {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        auto id = new_id();
        REQUIRE(id.size() == 32);
        REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        REQUIRE(seen.insert(id).second);
    }
    CHECK(random_hex(8).size() == 16);
    CHECK(random_hex(0).empty());
}

TEST_CASE("random_id: 312 ids seen do not predict the next (the mt19937_64 state-recovery attack)") {
    // The untempering itself is right: it predicts a real mt19937_64.
    std::mt19937_64 reference{12345};
    std::ostringstream known;
    for (int i = 0; i < 312; ++i) known << untemper(reference()) << ' ';
    known << 312;
    std::mt19937_64 clone;
    std::istringstream(known.str()) >> clone;
    REQUIRE(clone() == reference());

    // The same attack on the ids this process hands out (trace ids leak in every
    // traceparent header) learns nothing.
    std::ostringstream state;
    for (int i = 0; i < 312; ++i) state << untemper(as_mt_output(random_hex(8))) << ' ';
    state << 312;
    std::mt19937_64 attacker;
    std::istringstream(state.str()) >> attacker;
    int predicted = 0;
    for (int i = 0; i < 8; ++i) predicted += attacker() == as_mt_output(random_hex(8)) ? 1 : 0;
    CHECK(predicted == 0);
    // Trace and span ids come from the same source.
    CHECK(TraceContext::start().trace_id != TraceContext::start().trace_id);
}
