// `hisgate hl7 listen --store` killed with SIGKILL while several connections send: after
// a restart every message it ACKed is in the store exactly once (senders re-send what was
// not ACKed, as MLLP senders do, and the store recognises the retries). Seeded: the kill
// points and the torn tails added between runs come from the seed, which is printed;
// HISGATE_TEST_SEED=<n> replays.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mllp/client.h"
#include "mllp/hl7_view.h"
#include "mllp/message_log.h"
#include "support.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;

namespace {

// Starts the listener on a free port over `store`; returns its port (0 if it failed).
uint16_t start_listener(hisgate::test::Process& p, const std::string& store, const std::string& out) {
    p = hisgate::test::Process({hisgate::test::binary("cli/hisgate"), "hl7", "listen", "0", "--store", store, "--quiet"}, out);
    if (!p.start()) return 0;
    uint16_t port = 0;
    hisgate::test::eventually([&] {
        const std::string text = p.output();
        auto at = text.find("listening on ");
        auto end = text.find('\n', at == std::string::npos ? 0 : at);
        if (at == std::string::npos || end == std::string::npos) return false;
        auto colon = text.rfind(':', end);
        port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1, end - colon - 1)));
        return true;
    });
    return port;
}

}  // namespace

TEST_CASE("kill -9 of a storing listener loses no ACKed message and stores each once (seeded)",
          "[mllp][store][crash]") {
    const char* env = std::getenv("HISGATE_TEST_SEED");
    const unsigned long seed = env ? std::strtoul(env, nullptr, 10) : std::random_device{}();
    std::cout << "mllp listen crash test: seed " << seed << " (HISGATE_TEST_SEED to replay)\n";
    std::mt19937_64 rng(seed);

    const std::string dir = hisgate::test::make_temp_dir("mllp-crash");
    const std::string store = dir + "/store";
    const std::string log_file = store + "/" + hisgate::mllp::kMessageLogFile;
    constexpr int kConnections = 4, kRounds = 4;

    std::mutex mu;
    std::set<std::string> acked;  // control ids the listener answered AA
    std::vector<uint64_t> next_id(kConnections, 0);
    std::vector<std::string> unacked(kConnections);  // a message to send again first

    for (int round = 0; round < kRounds; ++round) {
        if (round > 0 && rng() % 2 == 0) {
            // What a power cut in the middle of a batch leaves: part of a record.
            std::ofstream(log_file, std::ios::binary | std::ios::app) << std::string("HGL1\x10\0\0\0", 8) << "torn";
        }
        hisgate::test::Process listener;
        const uint16_t port = start_listener(listener, store, dir + "/listener-" + std::to_string(round) + ".out");
        INFO("round " << round << ", listener output: " << listener.output());
        REQUIRE(port != 0);

        std::atomic<bool> stop{false};
        std::atomic<std::size_t> acked_now{0};
        std::vector<std::thread> senders;
        for (int c = 0; c < kConnections; ++c)
            senders.emplace_back([&, c] {
                hisgate::mllp::ClientOptions o;
                o.port = port;
                o.max_attempts = 1;  // this test re-sends by itself, across restarts
                o.connect_timeout = 500ms;
                o.ack_timeout = 2s;
                hisgate::mllp::Client client(o);
                while (!stop.load()) {
                    std::string& message = unacked[static_cast<std::size_t>(c)];
                    std::string id;
                    if (message.empty()) {
                        id = "C" + std::to_string(c) + "-" + std::to_string(next_id[static_cast<std::size_t>(c)]++);
                        message = hisgate::mllp::testing::sample_message(id);
                    } else {
                        id = hisgate::mllp::control_id(message);
                    }
                    auto answer = client.send(message);
                    if (answer.ok() && answer->find("MSA|AA|" + id) != std::string::npos) {
                        std::lock_guard lock(mu);
                        acked.insert(id);
                        message.clear();
                        ++acked_now;
                    } else {
                        std::this_thread::sleep_for(5ms);
                    }
                }
            });
        // The kill point: after a seeded number of ACKs, plus a seeded few milliseconds.
        const std::size_t kill_after = 5 + rng() % 60;
        const auto extra = std::chrono::microseconds(rng() % 5000);
        hisgate::test::eventually([&] { return acked_now.load() >= kill_after; }, 20s);
        std::this_thread::sleep_for(extra);
        listener.kill9();
        stop = true;
        for (auto& t : senders) t.join();
        CHECK(acked_now.load() >= kill_after);
    }

    // One more start recovers the store (truncating a torn tail, if any); then read it.
    {
        hisgate::test::Process listener;
        REQUIRE(start_listener(listener, store, dir + "/listener-last.out") != 0);
        listener.stop();
    }
    std::map<std::string, int> copies;
    auto scan = hisgate::mllp::MessageLog::read(
        log_file, [&](const hisgate::mllp::LogRecord& r) { ++copies[hisgate::mllp::control_id(r.message)]; });
    REQUIRE(scan.ok());
    CHECK(scan->valid_bytes == scan->file_bytes);  // recovery left no torn tail
    INFO("seed " << seed << ", " << acked.size() << " ACKed, " << scan->records << " stored");
    CHECK(acked.size() > 0);
    for (const auto& id : acked) {
        INFO("control id " << id);
        CHECK((copies.count(id) ? copies.at(id) : 0) == 1);
    }
    for (const auto& [id, n] : copies) {
        INFO("control id " << id);
        CHECK(n == 1);  // retries of unACKed messages were recognised too
    }
}
