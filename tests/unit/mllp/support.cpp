#include "support.h"

#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <stdexcept>

#include <unistd.h>

#include "hl7-gen/generator.h"
#include "hl7/message.h"
#include "mllp/framer.h"

namespace hisgate::mllp::testing {

const std::vector<std::string>& generated_messages() {
    static const std::vector<std::string> messages = [] {
        std::vector<std::string> all;
        for (const auto& g : hl7gen::generate(20240611, 400)) all.push_back(g.bytes);
        return all;
    }();
    return messages;
}

std::string sample_message(std::string_view control_id) {
    static const std::string adt = [] {
        hl7gen::Generator generator(1);
        for (;;) {  // one in original acknowledgement mode: the ACK is the answer
            hl7gen::Generated g = generator.next(hl7gen::Kind::Discharge);
            if (!g.enhanced_ack) return g.bytes;
        }
    }();
    auto message = hl7::Message::parse(adt);
    if (!message.ok()) throw std::runtime_error(message.error().describe());
    if (auto set = message->set("MSH-10", control_id); !set.ok()) throw std::runtime_error(set.error().describe());
    return message->serialize();
}

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("hisgate-mllp-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string read_frame(Poco::Net::StreamSocket& socket) {
    FrameDecoder decoder(64u << 20);
    std::vector<Frame> frames;
    char c;
    // One byte at a time so nothing after the frame is consumed from the socket.
    while (frames.empty()) {
        if (socket.receiveBytes(&c, 1) <= 0) return {};
        decoder.feed(std::string_view(&c, 1), frames);
    }
    return frames.front().payload;
}

Poco::Net::ServerSocket listen_on_free_port() {
    return Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0));
}

}  // namespace hisgate::mllp::testing
