#include "support.h"

#include <Poco/Net/SocketAddress.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <unistd.h>

#include "hl7/batch.h"
#include "hl7/message.h"
#include "mllp/framer.h"
#include "mllp/message_file.h"

namespace hisgate::mllp::testing {

const std::vector<std::string>& corpus_messages() {
    static const std::vector<std::string> messages = [] {
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(HISGATE_CORPUS_DIR) + "/good"))
            if (entry.is_regular_file()) files.push_back(entry.path());
        std::sort(files.begin(), files.end());  // a stable order keeps seeded tests reproducible
        // Split, not parsed: the framer carries bytes, whether or not they are valid HL7.
        std::vector<std::string> all;
        for (const auto& f : files) {
            std::ifstream in(f, std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            auto layout = hl7::split_file(text);
            if (!layout.ok()) throw std::runtime_error(f.string() + ": " + layout.error().describe());
            for (const auto& span : layout->messages) all.emplace_back(span.bytes);
        }
        if (all.empty()) throw std::runtime_error("no messages in the corpus at " HISGATE_CORPUS_DIR);
        return all;
    }();
    return messages;
}

std::string sample_message(std::string_view control_id) {
    static const std::string adt = [] {
        auto messages = read_message_file(std::string(HISGATE_CORPUS_DIR) + "/good/hapi/adt_a03.txt");
        if (!messages.ok() || messages->empty()) throw std::runtime_error("corpus sample adt_a03.txt missing");
        return messages->front();
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
