// FrameDecoder on byte streams: whole frames, frames split anywhere, several frames in
// one read, oversize frames, and the junk a real peer may put between frames.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <random>

#include "mllp/framer.h"
#include "support.h"

using hisgate::mllp::encode_frame;
using hisgate::mllp::Frame;
using hisgate::mllp::FrameDecoder;

namespace {
std::vector<Frame> decode(FrameDecoder& decoder, std::string_view bytes) {
    std::vector<Frame> frames;
    decoder.feed(bytes, frames);
    return frames;
}
}  // namespace

TEST_CASE("a whole frame decodes to its payload", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    auto frames = decode(decoder, encode_frame("MSH|^~\\&|A\rPID|1\r"));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].payload == "MSH|^~\\&|A\rPID|1\r");
    CHECK_FALSE(frames[0].oversize);
    CHECK_FALSE(decoder.in_frame());
    CHECK(decoder.buffered() == 0);
}

TEST_CASE("a frame split at every position decodes the same", "[mllp][framer]") {
    const std::string payload = "MSH|^~\\&|A|B\rEVN||1\r";
    const std::string wire = encode_frame(payload);
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        FrameDecoder decoder(1024);
        std::vector<Frame> frames;
        decoder.feed(std::string_view(wire).substr(0, cut), frames);
        INFO("cut at " << cut);
        // The frame is out once its 0x1C is in, whether or not the 0x0D has come.
        CHECK(frames.size() == (cut >= wire.size() - 1 ? 1u : 0u));
        decoder.feed(std::string_view(wire).substr(cut), frames);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].payload == payload);
    }
}

TEST_CASE("several frames in one read all come out, in order", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    std::string wire = encode_frame("one") + encode_frame("two") + encode_frame("three");
    auto frames = decode(decoder, wire);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload == "one");
    CHECK(frames[1].payload == "two");
    CHECK(frames[2].payload == "three");
}

TEST_CASE("an empty frame and commit acknowledgements are frames", "[mllp][framer]") {
    FrameDecoder decoder(16);
    auto frames = decode(decoder, encode_frame("") + encode_frame("\x06") + encode_frame("\x15"));
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload.empty());
    CHECK(frames[1].payload == std::string(1, hisgate::mllp::kCommitAck));
    CHECK(frames[2].payload == std::string(1, hisgate::mllp::kCommitNak));
}

TEST_CASE("a frame of exactly the maximum size is accepted, one byte more is not", "[mllp][framer]") {
    FrameDecoder decoder(8);
    auto frames = decode(decoder, encode_frame("12345678") + encode_frame("123456789") + encode_frame("ok"));
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload == "12345678");
    CHECK_FALSE(frames[0].oversize);
    CHECK(frames[1].oversize);
    CHECK(frames[1].payload == "12345678");  // the head is kept, never more than the maximum
    CHECK(frames[2].payload == "ok");
    CHECK_FALSE(frames[2].oversize);
}

TEST_CASE("an oversize frame is skipped as it streams in, never buffered whole", "[mllp][framer]") {
    const std::size_t max = 64 * 1024;
    FrameDecoder decoder(max);
    std::vector<Frame> frames;
    std::string head = "MSH|^~\\&|BIG|FAC\r";
    decoder.feed(std::string(1, hisgate::mllp::kStartBlock) + head, frames);
    const std::string chunk(16 * 1024, 'x');
    for (int i = 0; i < 1024; ++i) {  // 16 MiB through a 64 KiB decoder
        decoder.feed(chunk, frames);
        REQUIRE(decoder.buffered() <= max);
    }
    CHECK(frames.empty());
    decoder.feed("\x1c\r", frames);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].oversize);
    CHECK(frames[0].payload.size() == hisgate::mllp::kOversizeHeadBytes);
    CHECK(frames[0].payload.substr(0, head.size()) == head);
    CHECK(decode(decoder, encode_frame("next"))[0].payload == "next");
}

TEST_CASE("bytes between frames are dropped and counted", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    auto frames = decode(decoder, "\n\n" + encode_frame("a") + "junk" + encode_frame("b"));
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].payload == "a");
    CHECK(frames[1].payload == "b");
    CHECK(decoder.discarded_bytes() == 6);
}

TEST_CASE("a start block inside a frame restarts it: the cut-short frame is dropped", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    auto frames = decode(decoder, "\x0b" "partial" + encode_frame("whole"));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].payload == "whole");
    CHECK(decoder.discarded_bytes() == 7);
}

TEST_CASE("an end block without its carriage return still ends the frame", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    auto frames = decode(decoder, "\x0b" "a\x1c" + encode_frame("b"));
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].payload == "a");
    CHECK(frames[1].payload == "b");
}

TEST_CASE("a frame ending without its carriage return is emitted at 0x1C, split at every byte", "[mllp][framer]") {
    // A sender that omits the 0x0D sends nothing more until it has its answer: the frame
    // must come out on the 0x1C itself.
    const std::string wire = std::string("\x0b") + "MSH|^~\\&|A\r\x1c" + "\x0b" + "MSH|^~\\&|B\r\x1c";
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        INFO("cut at " << cut);
        FrameDecoder decoder(1024);
        std::vector<Frame> frames;
        decoder.feed(std::string_view(wire).substr(0, cut), frames);
        std::size_t ends_seen = 0;
        for (std::size_t i = 0; i < cut; ++i) ends_seen += wire[i] == '\x1c';
        CHECK(frames.size() == ends_seen);
        decoder.feed(std::string_view(wire).substr(cut), frames);
        REQUIRE(frames.size() == 2);
        CHECK(frames[0].payload == "MSH|^~\\&|A\r");
        CHECK(frames[1].payload == "MSH|^~\\&|B\r");
        CHECK_FALSE(decoder.in_frame());
    }
    // One byte at a time, too: each frame is out the moment its 0x1C is fed.
    FrameDecoder decoder(1024);
    std::vector<Frame> frames;
    for (char c : wire) {
        std::size_t before = frames.size();
        decoder.feed(std::string_view(&c, 1), frames);
        CHECK(frames.size() == before + (c == '\x1c' ? 1 : 0));
    }
}

TEST_CASE("a frame cut short at the end of the stream is reported as in progress", "[mllp][framer]") {
    FrameDecoder decoder(1024);
    CHECK(decode(decoder, "\x0bMSH|^~\\&|").empty());
    CHECK(decoder.in_frame());
    CHECK(decoder.buffered() == 9);
}

TEST_CASE("frameable refuses payloads holding block characters", "[mllp][framer]") {
    CHECK(hisgate::mllp::frameable("MSH|^~\\&|\r"));
    CHECK_FALSE(hisgate::mllp::frameable("MSH\x0b"));
    CHECK_FALSE(hisgate::mllp::frameable("MSH\x1c"));
}

// Generated messages, framed back to back, cut into random chunks: every message comes
// out intact and in order. The seed is printed so a failure can be replayed with
// HISGATE_TEST_SEED=<seed>.
TEST_CASE("generated messages survive random chunking (seeded)", "[mllp][framer]") {
    const auto& messages = hisgate::mllp::testing::generated_messages();
    std::string wire;
    for (const auto& m : messages) hisgate::mllp::append_frame(wire, m);

    const char* env = std::getenv("HISGATE_TEST_SEED");
    const unsigned long seed = env ? std::strtoul(env, nullptr, 10) : 20240611UL;
    std::cout << "framer random chunking: seed " << seed << " (HISGATE_TEST_SEED to replay)\n";
    std::mt19937_64 rng(seed);

    for (int round = 0; round < 50; ++round) {
        FrameDecoder decoder(1u << 20);
        std::vector<Frame> frames;
        std::uniform_int_distribution<std::size_t> size(1, round % 2 ? 7 : 4096);
        for (std::size_t pos = 0; pos < wire.size();) {
            std::size_t n = std::min(size(rng), wire.size() - pos);
            decoder.feed(std::string_view(wire).substr(pos, n), frames);
            pos += n;
        }
        INFO("seed " << seed << " round " << round);
        REQUIRE(frames.size() == messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) REQUIRE(frames[i].payload == messages[i]);
        CHECK(decoder.discarded_bytes() == 0);
        CHECK_FALSE(decoder.in_frame());
    }
}
