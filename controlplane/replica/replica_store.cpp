#include "controlplane/replica/replica_store.h"

#include <cstdio>
#include <filesystem>

namespace hisgate::controlplane::replica {

Result<std::unique_ptr<ReplicaStore>> ReplicaStore::open(const std::string& path) {
    std::unique_ptr<ReplicaStore> s(new ReplicaStore(path));
    if (auto r = s->open_writer(); !r) return r.error();
    return s;
}

Result<void> ReplicaStore::open_writer() {
    auto db = sql::Db::open_with_schema(path_, public_partition::ReferenceTables::schema());
    if (!db) return db.error();
    if (auto r = public_partition::ReferenceTables(*db).upgrade_text_index(); !r) return r.error();
    writer_ = std::make_unique<sql::Db>(std::move(db.value()));
    return {};
}

Result<nlohmann::json> ReplicaStore::read(const std::function<Result<nlohmann::json>(sql::Db&)>& body) {
    std::shared_lock swap(swap_mu_);
    std::unique_ptr<sql::Db> db;
    {
        std::lock_guard lock(readers_mu_);
        if (!idle_readers_.empty()) {
            db = std::move(idle_readers_.back());
            idle_readers_.pop_back();
        }
    }
    if (!db) {
        // One connection per concurrent search, kept for the next; used by one thread at a
        // time, so without SQLite's own mutex.
        auto opened = sql::Db::open(path_, false);
        if (!opened) return opened.error();
        // Pages read through a mapping of the file, not copied by read(): the follower's
        // every commit empties a connection's page cache, so each search read its pages
        // again, and the copies were a quarter of a busy replica's CPU (docs/benchmarks.md,
        // "Public partition"). SQLite bounds it by its compile-time maximum.
        if (auto r = opened->exec(std::string("PRAGMA mmap_size=") + std::to_string(kReaderMmapBytes)); !r) return r.error();
        db = std::make_unique<sql::Db>(std::move(opened.value()));
    }
    auto out = body(*db);
    std::lock_guard lock(readers_mu_);
    idle_readers_.push_back(std::move(db));
    return out;
}

Result<void> ReplicaStore::replace_with(const std::string& seed) {
    std::unique_lock swap(swap_mu_);
    {
        std::lock_guard lock(readers_mu_);
        idle_readers_.clear();
    }
    writer_.reset();  // the last connection: SQLite checkpoints and removes the -wal file
    std::error_code ec;
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path_ + suffix, ec);
    std::filesystem::rename(seed, path_, ec);
    if (ec)
        return make_error(ErrorClass::Internal, "replica.storage", "cannot move the snapshot into place: " + ec.message());
    return open_writer();
}

}  // namespace hisgate::controlplane::replica
