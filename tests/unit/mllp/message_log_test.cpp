// The MLLP message log (mllp/message_log.h): group commit, order, retries, bounds, and
// recovery of a torn tail.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mllp/message_log.h"
#include "support.h"

using hisgate::ErrorClass;
using hisgate::mllp::LogEntry;
using hisgate::mllp::LogRecord;
using hisgate::mllp::MessageLog;
using hisgate::mllp::MessageLogOptions;
using hisgate::mllp::testing::TempDir;
using hisgate::mllp::testing::why;

namespace {

struct Stored {
    std::string key, message;
    bool operator==(const Stored&) const = default;
};

std::vector<Stored> read_all(const std::string& path, hisgate::mllp::LogScan* scan_out = nullptr) {
    std::vector<Stored> out;
    auto scan = MessageLog::read(path, [&](const LogRecord& r) { out.push_back({std::string(r.key), std::string(r.message)}); });
    REQUIRE(scan.ok());
    if (scan_out) *scan_out = *scan;
    return out;
}

std::unique_ptr<MessageLog> open_log(MessageLogOptions options) {
    auto log = MessageLog::open(std::move(options));
    INFO(why(log));
    REQUIRE(log.ok());
    return std::move(*log);
}

std::string log_path(const TempDir& dir) { return (dir.path() / hisgate::mllp::kMessageLogFile).string(); }

void append_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << bytes;
}

}  // namespace

TEST_CASE("the log keeps messages in order and reads them back whole", "[mllp][store]") {
    TempDir dir;
    std::vector<std::string> keys, messages;
    for (int i = 0; i < 100; ++i) {
        keys.push_back("key-" + std::to_string(i));
        messages.push_back(std::string(static_cast<std::size_t>(i * 37), static_cast<char>('a' + i % 26)));
    }
    {
        auto log = open_log({.dir = dir.path().string()});
        std::vector<LogEntry> entries;
        for (int i = 0; i < 100; ++i) entries.push_back({messages[static_cast<std::size_t>(i)], keys[static_cast<std::size_t>(i)]});
        auto results = log->append_all(entries);
        REQUIRE(results.size() == 100);
        for (const auto& r : results) REQUIRE(r.ok());
        CHECK(log->stats().records == 100);
        CHECK(log->stats().batches == 1);  // one append_all, one sync
    }
    auto stored = read_all(log_path(dir));
    REQUIRE(stored.size() == 100);
    for (std::size_t i = 0; i < 100; ++i) CHECK(stored[i] == Stored{keys[i], messages[i]});

    // Reopened, it appends after what it found.
    auto log = open_log({.dir = dir.path().string()});
    CHECK(log->stats().records == 100);
    REQUIRE(log->append("after", "key-after").ok());
    CHECK(read_all(log_path(dir)).back() == Stored{"key-after", "after"});
}

TEST_CASE("concurrent callers share syncs and each caller's order is kept", "[mllp][store]") {
    TempDir dir;
    constexpr int kThreads = 8, kEach = 50;
    // The writer lingers until all eight callers have queued one message, so every batch
    // holds exactly eight: the batching is certain, not a matter of timing.
    auto log = open_log({.dir = dir.path().string(), .max_batch_messages = kThreads, .max_wait = std::chrono::seconds(30)});
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                std::string id = std::to_string(t) + "-" + std::to_string(i);
                if (!log->append("message " + id, "k" + id).ok()) ++failures;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    CHECK(log->stats().records == kThreads * kEach);
    CHECK(log->stats().batches == kEach);

    std::vector<int> next(kThreads, 0);
    for (const auto& s : read_all(log_path(dir))) {
        int t = std::stoi(s.message.substr(8));
        int i = std::stoi(s.message.substr(s.message.find('-') + 1));
        CHECK(i == next[static_cast<std::size_t>(t)]);
        next[static_cast<std::size_t>(t)] = i + 1;
    }
    for (int n : next) CHECK(n == kEach);
}

TEST_CASE("a retry under the same key is stored once and a different message under it is kept", "[mllp][store]") {
    TempDir dir;
    {
        auto log = open_log({.dir = dir.path().string()});
        auto first = log->append("ADT one", "FAC_APP_1");
        REQUIRE(first.ok());
        CHECK_FALSE(first->duplicate);
        auto retry = log->append("ADT one", "FAC_APP_1");
        REQUIRE(retry.ok());
        CHECK(retry->duplicate);
        CHECK(retry->offset == first->offset);
        // In one batch too: the second copy is recognised against the first.
        std::vector<LogEntry> twice{{"ORU two", "FAC_APP_2"}, {"ORU two", "FAC_APP_2"}};
        auto both = log->append_all(twice);
        REQUIRE(both[0].ok());
        REQUIRE(both[1].ok());
        CHECK_FALSE(both[0]->duplicate);
        CHECK(both[1]->duplicate);
        auto other = log->append("ADT other bytes", "FAC_APP_1");
        REQUIRE(other.ok());
        CHECK_FALSE(other->duplicate);
        // No key: nothing to recognise a retry by, so both are kept.
        REQUIRE(log->append("no id", "").ok());
        REQUIRE(log->append("no id", "").ok());
        CHECK(log->stats().duplicates == 2);
    }
    CHECK(read_all(log_path(dir)).size() == 5);
    // Recognised after a restart as well: the index is rebuilt from the file.
    auto log = open_log({.dir = dir.path().string()});
    auto again = log->append("ADT one", "FAC_APP_1");
    REQUIRE(again.ok());
    CHECK(again->duplicate);
}

TEST_CASE("the log refuses input over its bounds", "[mllp][store]") {
    TempDir dir;
    auto log = open_log({.dir = dir.path().string(), .max_message_bytes = 1000, .max_key_bytes = 10,
                         .max_pending_bytes = 3000});
    auto big = log->append(std::string(1001, 'x'), "k");
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().cls == ErrorClass::BadInput);
    auto long_key = log->append("m", std::string(11, 'k'));
    REQUIRE_FALSE(long_key.ok());
    CHECK(long_key.error().cls == ErrorClass::BadInput);

    // Queued bytes (a record is its message, its key and a 16-byte header): two records of
    // 1,017 bytes fit under 3,000, a third would pass it and is refused.
    const std::string m1(1000, 'a'), m2(1000, 'b'), m3(1000, 'c');
    std::vector<LogEntry> entries{{m1, "1"}, {m2, "2"}, {m3, "3"}};
    auto results = log->append_all(entries);
    CHECK(results[0].ok());
    CHECK(results[1].ok());
    REQUIRE_FALSE(results[2].ok());
    CHECK(results[2].error().code == "mllp.store_busy");
    CHECK(read_all(log_path(dir)).size() == 2);
}

TEST_CASE("reopening truncates a torn tail and keeps every whole record", "[mllp][store]") {
    TempDir dir;
    const std::string path = log_path(dir);
    {
        auto log = open_log({.dir = dir.path().string()});
        for (int i = 0; i < 10; ++i) REQUIRE(log->append("message " + std::to_string(i), "k" + std::to_string(i)).ok());
    }
    const auto whole = std::filesystem::file_size(path);

    SECTION("a record cut short") {
        const std::string record_start = std::string("HGL1", 4) + std::string("\x02\0\0\0\x40\0\0\0", 8) + "crc!k1short";
        append_bytes(path, record_start);
    }
    SECTION("zeros where the file grew but the data never arrived") {
        append_bytes(path, std::string(4096, '\0'));
    }
    SECTION("a whole record whose checksum fails") {
        {
            auto log = open_log({.dir = dir.path().string()});
            REQUIRE(log->append("message 10", "k10").ok());
        }
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-1, std::ios::end);
        f.put('!');  // the last byte of the last body
    }
    hisgate::mllp::LogScan scan;
    auto before = read_all(path, &scan);
    CHECK(before.size() == 10);  // a reader stops before the torn tail, never fails on it
    CHECK(scan.valid_bytes == whole);
    CHECK(scan.file_bytes > whole);

    auto log = open_log({.dir = dir.path().string()});
    CHECK(log->stats().records == 10);
    CHECK(log->stats().truncated_bytes == scan.file_bytes - whole);
    CHECK(std::filesystem::file_size(path) == whole);
    REQUIRE(log->append("message 11", "k11").ok());
    auto after = read_all(path);
    REQUIRE(after.size() == 11);
    CHECK(after.back() == Stored{"k11", "message 11"});
}

TEST_CASE("damage longer than a batch can tear is refused, not truncated", "[mllp][store]") {
    TempDir dir;
    const std::string path = log_path(dir);
    MessageLogOptions options{.dir = dir.path().string(), .max_batch_bytes = 1000, .max_message_bytes = 1000, .max_key_bytes = 10};
    {
        auto log = open_log(options);
        REQUIRE(log->append("message", "k").ok());
    }
    append_bytes(path, std::string(5000, 'x'));
    const auto size = std::filesystem::file_size(path);
    auto log = MessageLog::open(options);
    REQUIRE_FALSE(log.ok());
    CHECK(log.error().code == "mllp.store_corrupt");
    CHECK(std::filesystem::file_size(path) == size);
}

TEST_CASE("a failed write fails its batch only and the log goes on", "[mllp][store]") {
    TempDir dir;
    auto log = open_log({.dir = dir.path().string()});
    REQUIRE(log->append("before", "k1").ok());
    log->fail_writes_for_test(true);
    auto failed = log->append("during", "k2");
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().cls == ErrorClass::Unavailable);
    log->fail_writes_for_test(false);
    auto retried = log->append("during", "k2");
    REQUIRE(retried.ok());
    CHECK_FALSE(retried->duplicate);  // the failed attempt left nothing behind
    CHECK(read_all(log_path(dir)).size() == 2);
}

TEST_CASE("a log open in one place cannot be opened again", "[mllp][store]") {
    TempDir dir;
    auto log = open_log({.dir = dir.path().string()});
    auto second = MessageLog::open({.dir = dir.path().string()});
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == "mllp.store_locked");
}
