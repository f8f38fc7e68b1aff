// MLLP framing (HL7 v2 Minimal Lower Layer Protocol): every message travels as
//   0x0B <payload> 0x1C 0x0D
// FrameDecoder turns an arbitrary stream of reads (a frame split across reads, several
// frames in one read) back into payloads. It never holds more than max_frame_bytes of a
// frame in progress: an oversize frame is reported and the rest of it is skipped as it
// arrives, so a hostile or broken peer cannot make us buffer it whole.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hisgate::mllp {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;
// MLLP release 2 commit acknowledgements: a frame whose whole payload is one of these.
inline constexpr char kCommitAck = 0x06;
inline constexpr char kCommitNak = 0x15;

// How much of an oversize frame is kept: enough for the MSH segment, so the receiver can
// still name the message it rejects.
inline constexpr std::size_t kOversizeHeadBytes = 4096;

struct Frame {
    std::string payload;    // whole payload; for an oversize frame only its first bytes
    bool oversize = false;  // the frame exceeded max_frame_bytes and was skipped
};

class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_frame_bytes);

    // Consumes all of `bytes`, appending to `out` each frame that they complete.
    void feed(std::string_view bytes, std::vector<Frame>& out);

    // Bytes held for the frame in progress; never more than max_frame_bytes.
    std::size_t buffered() const { return payload_.size(); }
    // True while a frame has started and not yet ended (a peer closing now truncated it).
    bool in_frame() const { return state_ == State::InFrame || state_ == State::Skipping; }
    // True while inside a frame that exceeded max_frame_bytes (its rest is being dropped);
    // head() is then its first bytes, at most kOversizeHeadBytes.
    bool skipping() const { return state_ == State::Skipping; }
    std::string_view head() const { return payload_; }
    // Bytes seen outside any frame, or belonging to a frame cut short by a new start
    // block; they are dropped, and counted so a misbehaving peer shows up in the logs.
    std::size_t discarded_bytes() const { return discarded_; }

private:
    enum class State {
        Idle,        // between frames: waiting for 0x0B
        InFrame,     // collecting payload
        Skipping,    // inside an oversize frame: dropping bytes until 0x1C
        AfterEnd,    // emitted a frame at 0x1C: a 0x0D here completes its trailer
    };

    void end_frame(std::vector<Frame>& out);

    std::size_t max_frame_bytes_;
    State state_ = State::Idle;
    bool oversize_ = false;
    std::string payload_;
    std::size_t discarded_ = 0;
};

// The bytes that carry `payload` as one MLLP frame.
std::string encode_frame(std::string_view payload);
// Appends the frame for `payload` to `out` (lets a sender batch several frames in one write).
void append_frame(std::string& out, std::string_view payload);

// True if `payload` can be framed: it must not contain the block characters.
bool frameable(std::string_view payload);

}  // namespace hisgate::mllp
