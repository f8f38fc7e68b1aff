// A read replica's own SQLite file of the reference tables (reference_tables.h): one writer
// (the follower, applying the primary's stream) and a pool of read connections (searches,
// any number at once: WAL lets them read while the writer writes).
//
// Re-seeding swaps the whole file for a snapshot. The new file is made and verified beside
// the old (`<file>.next`) while searches go on; then, under the exclusive lock, every
// connection closes, the new file is renamed over the old one and they reopen. Searches
// wait only for that swap (milliseconds), and never see half of either file.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controlplane/public_partition/reference_tables.h"

namespace hisgate::controlplane::replica {

class ReplicaStore {
public:
    // How much of the file a read connection maps (PRAGMA mmap_size; SQLite caps it at its
    // SQLITE_MAX_MMAP_SIZE, 2 GiB in Debian's build).
    static constexpr int64_t kReaderMmapBytes = int64_t{16} << 30;

    // Opens (creating if needed) the replica's file. Errors: SQLite's, Config when unusable.
    static Result<std::unique_ptr<ReplicaStore>> open(const std::string& path);

    const std::string& path() const { return path_; }

    // Runs `body` with the writer's connection and tables (the follower's thread only).
    template <class Body>
    auto write(Body&& body) {
        std::shared_lock swap(swap_mu_);
        public_partition::ReferenceTables tables(*writer_);
        return body(*writer_, tables);
    }

    // Runs `body` with a read connection of its own for the call.
    Result<nlohmann::json> read(const std::function<Result<nlohmann::json>(sql::Db&)>& body);

    // Replaces the file by `seed` (a verified snapshot file, renamed into place).
    Result<void> replace_with(const std::string& seed);

private:
    explicit ReplicaStore(std::string path) : path_(std::move(path)) {}
    Result<void> open_writer();

    std::string path_;
    std::shared_mutex swap_mu_;  // shared: any use of a connection; exclusive: the swap
    std::unique_ptr<sql::Db> writer_;
    std::mutex readers_mu_;
    std::vector<std::unique_ptr<sql::Db>> idle_readers_;
};

}  // namespace hisgate::controlplane::replica
