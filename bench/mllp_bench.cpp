// MLLP load generator: drives any MLLP server with the hisgate client over loopback and
// reports ACKed messages/s and per-message latency (send to matching ACK). The same
// program drives every contender, so the client side costs the same for all of them.
//
//   mllp_bench --port P --messages FILE [FILE...] [--connections N] [--seconds S]
//              [--warmup S] [--reconnect] [--label NAME]
//
// Each connection is a thread with its own Client sending one message at a time, each
// with a fresh MSH-10 so every ACK is matched to its own message. --reconnect opens a
// new connection for every message. Prints one line:
//   RESULT <label> <connections> <acked/s> <p50 us> <p99 us> <errors>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "hl7/ack.h"
#include "hl7/message.h"
#include "mllp/client.h"
#include "mllp/message_file.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A message with a slot for its control id, so making each message is two appends.
struct Template {
    std::string before, after;
    std::string with_id(const std::string& id) const { return before + id + after; }
};

struct Settings {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::vector<std::string> files;
    int connections = 1;
    double seconds = 5, warmup = 1;
    bool reconnect = false;
    std::string label = "server";
};

struct ConnectionResult {
    std::vector<uint32_t> latencies_us;  // measured phase only
    long errors = 0;
};

int usage(const char* what) {
    std::fprintf(stderr,
                 "mllp_bench: %s\nusage: mllp_bench --port P --messages FILE [FILE...] [--connections N] "
                 "[--seconds S] [--warmup S] [--reconnect] [--label NAME] [--host H]\n",
                 what);
    return 2;
}

bool parse_args(int argc, char** argv, Settings& s) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
        if (a == "--port") s.port = static_cast<uint16_t>(std::stoi(next()));
        else if (a == "--host") s.host = next();
        else if (a == "--connections") s.connections = std::stoi(next());
        else if (a == "--seconds") s.seconds = std::stod(next());
        else if (a == "--warmup") s.warmup = std::stod(next());
        else if (a == "--reconnect") s.reconnect = true;
        else if (a == "--label") s.label = next();
        else if (a == "--messages") {
            while (i + 1 < argc && argv[i + 1][0] != '-') s.files.push_back(argv[++i]);
        } else return false;
    }
    return s.port != 0 && !s.files.empty() && s.connections > 0 && s.seconds > 0;
}

// Every message of the files that a receiver acknowledges (no ACKs, no MSH-15 NE), each
// turned into a template around MSH-10.
std::vector<Template> load_templates(const std::vector<std::string>& files) {
    constexpr const char* kSlot = "HGBENCHSLOT";
    std::vector<Template> out;
    for (const auto& f : files) {
        auto messages = hisgate::mllp::read_message_file(f);
        if (!messages.ok()) {
            std::fprintf(stderr, "mllp_bench: %s\n", messages.error().describe().c_str());
            continue;
        }
        for (const auto& m : *messages) {
            if (hisgate::hl7::ack_for(m).empty()) continue;
            auto parsed = hisgate::hl7::Message::parse(m);
            if (!parsed.ok() || !parsed->set("MSH-10", kSlot).ok()) continue;
            std::string text = parsed->serialize();
            auto at = text.find(kSlot);
            if (at == std::string::npos) continue;
            out.push_back({text.substr(0, at), text.substr(at + std::string(kSlot).size())});
        }
    }
    return out;
}

uint32_t percentile(std::vector<uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    std::size_t rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    if (!parse_args(argc, argv, s)) return usage("bad arguments");
    const auto templates = load_templates(s.files);
    if (templates.empty()) return usage("no acknowledgeable message in the files given");

    hisgate::mllp::ClientOptions options;
    options.host = s.host;
    options.port = s.port;
    options.ack_timeout = 10s;
    options.max_attempts = 1;  // a failure is counted, not hidden by a retry

    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.warmup));
    const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.seconds));
    std::vector<ConnectionResult> results(static_cast<std::size_t>(s.connections));
    std::vector<std::thread> threads;
    for (int c = 0; c < s.connections; ++c) {
        threads.emplace_back([&, c] {
            ConnectionResult& r = results[static_cast<std::size_t>(c)];
            r.latencies_us.reserve(1 << 20);
            hisgate::mllp::Client client(options);
            std::string prefix = std::to_string(c);  // "B<c>-", built in steps: GCC 12 -O2 warns
            prefix.insert(0, 1, 'B');                // falsely (-Wrestrict) on "B" + string
            prefix += '-';
            for (uint64_t seq = 0;; ++seq) {
                const auto sent_at = Clock::now();
                if (sent_at >= stop_at) break;
                std::string message = templates[seq % templates.size()].with_id(prefix + std::to_string(seq));
                auto answer = client.send(message);
                const auto done_at = Clock::now();
                if (s.reconnect) client.disconnect();
                if (!answer.ok()) {
                    ++r.errors;
                    continue;
                }
                if (sent_at >= measure_from && done_at <= stop_at)
                    r.latencies_us.push_back(static_cast<uint32_t>(
                        std::chrono::duration_cast<std::chrono::microseconds>(done_at - sent_at).count()));
            }
        });
    }
    for (auto& t : threads) t.join();

    std::vector<uint32_t> all;
    long errors = 0;
    for (auto& r : results) {
        all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
        errors += r.errors;
    }
    std::sort(all.begin(), all.end());
    std::printf("RESULT %s %d %.0f %u %u %ld\n", s.label.c_str(), s.connections,
                static_cast<double>(all.size()) / s.seconds, percentile(all, 0.50), percentile(all, 0.99), errors);
    return 0;
}
