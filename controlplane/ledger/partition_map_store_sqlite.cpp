// The partition maps on SQLite (partition_map.h): one row per epoch, never changed once
// written, so an earlier epoch stays readable for a rollback.
#include "common/sqlite.h"
#include "controlplane/ledger/partition_map.h"

namespace hisgate::ledger {

namespace {

std::string encode(const std::map<std::string, std::string>& assignments) {
    std::string out;
    for (const auto& [province, partition] : assignments) out += province + "=" + partition + ";";
    return out;
}

std::map<std::string, std::string> decode(const std::string& text) {
    std::map<std::string, std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eq = text.find('=', pos), semi = text.find(';', pos);
        if (eq == std::string::npos || semi == std::string::npos || eq > semi) break;
        out[text.substr(pos, eq - pos)] = text.substr(eq + 1, semi - eq - 1);
        pos = semi + 1;
    }
    return out;
}

class SqlitePartitionMapStore final : public PartitionMapStore {
public:
    explicit SqlitePartitionMapStore(sql::Db db) : db_(std::move(db)) {}

    Result<PartitionMap> current() override {
        auto s = db_.prepare("SELECT epoch, assignments FROM partition_maps ORDER BY epoch DESC LIMIT 1");
        if (!s) return s.error();
        if (!s->step()) {
            if (s->error()) return *s->error();
            return initial_partition_map();
        }
        return read(*s);
    }

    Result<PartitionMap> at_epoch(int64_t epoch) override {
        if (epoch == 1) {
            auto first = lookup(1);
            if (!first) return first.error();
            if (!*first) return initial_partition_map();
            return **first;
        }
        auto found = lookup(epoch);
        if (!found) return found.error();
        if (!*found)
            return make_error(ErrorClass::NotFound, "partition_map.unknown_epoch", "no map of epoch " + std::to_string(epoch));
        return **found;
    }

    Result<PartitionMap> publish(int64_t base_epoch, const std::map<std::string, std::string>& assignments,
                                 int64_t now_ms) override {
        PartitionMap next;
        next.epoch = base_epoch + 1;
        next.partition_of_province = assignments;
        if (auto ok = next.validate(); !ok) return ok.error();
        auto done = db_.transaction([&]() -> Result<void> {
            auto now = current();
            if (!now) return now.error();
            if (now->epoch != base_epoch)
                return make_error(ErrorClass::Rejected, "partition_map.stale_epoch",
                                  "the map is at epoch " + std::to_string(now->epoch) + ", not " + std::to_string(base_epoch) +
                                      "; publish on the current map");
            if (base_epoch == 1) {  // keep the implicit first map as a row too, for at_epoch(1)
                auto first = db_.prepare("INSERT OR IGNORE INTO partition_maps(epoch, created_ms, assignments) VALUES (1, ?1, ?2)");
                if (!first) return first.error();
                first->bind(1, now_ms).bind(2, encode(now->partition_of_province));
                if (auto r = first->run(); !r) return r;
            }
            auto s = db_.prepare("INSERT INTO partition_maps(epoch, created_ms, assignments) VALUES (?1, ?2, ?3)");
            if (!s) return s.error();
            s->bind(1, next.epoch).bind(2, now_ms).bind(3, encode(assignments));
            return s->run();
        });
        if (!done) return done.error();
        return next;
    }

private:
    static PartitionMap read(const sql::Statement& s) {
        PartitionMap map;
        map.epoch = s.integer(0);
        map.partition_of_province = decode(s.text(1));
        return map;
    }

    Result<std::optional<PartitionMap>> lookup(int64_t epoch) {
        auto s = db_.prepare("SELECT epoch, assignments FROM partition_maps WHERE epoch = ?1");
        if (!s) return s.error();
        s->bind(1, epoch);
        if (s->step()) return std::optional<PartitionMap>(read(*s));
        if (s->error()) return *s->error();
        return std::optional<PartitionMap>();
    }

    sql::Db db_;
};

}  // namespace

Result<std::unique_ptr<PartitionMapStore>> open_sqlite_partition_map_store(const std::string& path) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS partition_maps(epoch INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL,"
               " assignments TEXT NOT NULL)"});
    if (!db) return db.error();
    if (auto r = db->exec("PRAGMA synchronous=FULL"); !r) return r.error();
    return std::unique_ptr<PartitionMapStore>(new SqlitePartitionMapStore(std::move(db.value())));
}

}  // namespace hisgate::ledger
