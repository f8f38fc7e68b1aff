#include "mllp/framer.h"

#include <algorithm>

namespace hisgate::mllp {

namespace {
// The characters that change the decoder's state inside a frame.
constexpr std::string_view kBlockChars{"\x0B\x1C", 2};
}  // namespace

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void FrameDecoder::feed(std::string_view bytes, std::vector<Frame>& out) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        switch (state_) {
            case State::Idle: {
                std::size_t start = bytes.find(kStartBlock, i);
                if (start == std::string_view::npos) {
                    discarded_ += bytes.size() - i;
                    return;
                }
                discarded_ += start - i;
                state_ = State::InFrame;
                i = start + 1;
                break;
            }
            case State::InFrame: {
                std::size_t stop = bytes.find_first_of(kBlockChars, i);
                std::size_t end = stop == std::string_view::npos ? bytes.size() : stop;
                std::size_t room = max_frame_bytes_ - payload_.size();
                if (end - i > room) {
                    // Keep only the head (for the MSH segment) and drop the rest as it comes.
                    payload_.append(bytes.substr(i, room));
                    payload_.resize(std::min(payload_.size(), kOversizeHeadBytes));
                    payload_.shrink_to_fit();
                    oversize_ = true;
                    state_ = State::Skipping;
                    i = end;
                    break;
                }
                payload_.append(bytes.substr(i, end - i));
                if (stop == std::string_view::npos) return;
                if (bytes[stop] == kEndBlock) {
                    end_frame(out);
                } else {
                    // A start block inside a frame: the previous frame was cut short.
                    discarded_ += payload_.size();
                    payload_.clear();
                }
                i = stop + 1;
                break;
            }
            case State::Skipping: {
                std::size_t stop = bytes.find_first_of(kBlockChars, i);
                if (stop == std::string_view::npos) return;
                if (bytes[stop] == kEndBlock) {
                    end_frame(out);
                } else {
                    // A new frame starts before the oversize one ended: drop what we kept.
                    discarded_ += payload_.size();
                    payload_.clear();
                    oversize_ = false;
                    state_ = State::InFrame;
                }
                i = stop + 1;
                break;
            }
            case State::AfterEnd:
                // The 0x0D that should follow 0x1C is consumed; a sender that omits it is
                // tolerated and the byte is read as the start of what comes next.
                if (bytes[i] == kCarriageReturn) ++i;
                state_ = State::Idle;
                break;
        }
    }
}

// 0x1C ends the frame: it is emitted now, not when the next byte arrives, so a sender
// that omits the trailing 0x0D still gets its answer.
void FrameDecoder::end_frame(std::vector<Frame>& out) {
    out.push_back(Frame{std::move(payload_), oversize_});
    payload_.clear();
    oversize_ = false;
    state_ = State::AfterEnd;
}

void append_frame(std::string& out, std::string_view payload) {
    out.reserve(out.size() + payload.size() + 3);
    out.push_back(kStartBlock);
    out.append(payload);
    out.push_back(kEndBlock);
    out.push_back(kCarriageReturn);
}

std::string encode_frame(std::string_view payload) {
    std::string out;
    append_frame(out, payload);
    return out;
}

bool frameable(std::string_view payload) {
    return payload.find_first_of(kBlockChars) == std::string_view::npos;
}

}  // namespace hisgate::mllp
