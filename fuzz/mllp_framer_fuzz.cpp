// libFuzzer target for the MLLP FrameDecoder (see docs/fuzzing.md, "MLLP framer").
//
// Input: byte 0 picks the maximum frame size, byte 1 seeds how the rest is cut into
// reads; the rest is the byte stream. Checked on every input:
//  - the decoder never holds more than the maximum frame size;
//  - a complete frame is at most the maximum and holds no block character; the head
//    kept of an oversize frame is at most kOversizeHeadBytes;
//  - the frames do not depend on how the stream was cut into reads;
//  - re-encoding the complete frames and decoding them again gives them back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mllp/framer.h"

using hisgate::mllp::Frame;
using hisgate::mllp::FrameDecoder;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool same(const std::vector<Frame>& a, const std::vector<Frame>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].payload != b[i].payload || a[i].oversize != b[i].oversize) return false;
    return true;
}

std::vector<Frame> decode_in_reads(std::string_view stream, std::size_t max, uint8_t cut_seed) {
    FrameDecoder decoder(max);
    std::vector<Frame> frames;
    uint32_t state = cut_seed * 2654435761u + 1;
    for (std::size_t pos = 0; pos < stream.size();) {
        state = state * 1103515245u + 12345u;  // a tiny LCG: reproducible cuts from one byte
        std::size_t n = 1 + (state >> 16) % 97;
        std::string_view read = stream.substr(pos, n);
        decoder.feed(read, frames);
        pos += read.size();
        check(decoder.buffered() <= max);
    }
    return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // 1..4096 and a few small sizes often, so oversize paths are reached on short inputs.
    const std::size_t max = data[0] < 32 ? data[0] + 1u : std::size_t(data[0]) * 16;
    const uint8_t cut_seed = data[1];
    const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

    FrameDecoder whole(max);
    std::vector<Frame> frames;
    whole.feed(stream, frames);
    check(whole.buffered() <= max);

    for (const Frame& f : frames) {
        if (f.oversize) {
            check(f.payload.size() <= std::min(max, hisgate::mllp::kOversizeHeadBytes));
        } else {
            check(f.payload.size() <= max);
            check(hisgate::mllp::frameable(f.payload));
        }
    }

    check(same(frames, decode_in_reads(stream, max, cut_seed)));

    std::string wire;
    std::vector<Frame> complete;
    for (const Frame& f : frames)
        if (!f.oversize) {
            hisgate::mllp::append_frame(wire, f.payload);
            complete.push_back(f);
        }
    FrameDecoder again(max);
    std::vector<Frame> redecoded;
    again.feed(wire, redecoded);
    check(same(complete, redecoded));
    check(!again.in_frame() && again.discarded_bytes() == 0);
    return 0;
}
