#include "agent/extraction/snapshot_store.h"

namespace hisgate::extraction {

namespace {
const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS extraction_records(
  entity TEXT NOT NULL, key TEXT NOT NULL, date TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY(entity, key));
CREATE INDEX IF NOT EXISTS extraction_records_by_date ON extraction_records(entity, date);
CREATE TABLE IF NOT EXISTS extraction_sequence(id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL);
INSERT OR IGNORE INTO extraction_sequence(id, last_seq) VALUES(1, 0);
CREATE TABLE IF NOT EXISTS extraction_changesets(
  seq INTEGER PRIMARY KEY, body TEXT NOT NULL, handed_over INTEGER NOT NULL DEFAULT 0);
-- pending() runs at every hand-over: it must not scan up to extraction.history_keep rows.
CREATE INDEX IF NOT EXISTS extraction_changesets_pending ON extraction_changesets(seq) WHERE handed_over = 0;
)";

// Before the history was kept, pending change sets had a table of their own and handed-over
// ones were deleted; what such a file holds pending moves over once, still pending.
Result<void> move_old_pending(sql::Db& db) {
    {
        // Finished before the DROP below: a statement still reading sqlite_master locks it.
        auto old = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'extraction_pending'");
        if (!old) return old.error();
        if (!old->step()) return old->error().value_or(make_error(ErrorClass::Internal, "extraction.storage", "no row"));
        if (old->integer(0) == 0) return {};
    }
    return db.transaction([&]() -> Result<void> {
        if (auto r = db.exec("INSERT OR IGNORE INTO extraction_changesets(seq, body, handed_over) "
                             "SELECT seq, body, 0 FROM extraction_pending");
            !r)
            return r;
        return db.exec("DROP TABLE extraction_pending");
    });
}

Error storage_error(const std::string& what, const Error& e) {
    return make_error(ErrorClass::Internal, "extraction.storage", what + ": " + e.describe());
}

Result<Record> row_record(sql::Statement& st) {
    auto data = nlohmann::json::parse(st.text(3), nullptr, false);
    if (data.is_discarded())
        return make_error(ErrorClass::Internal, "extraction.storage",
                          "snapshot row " + st.text(0) + " " + st.text(1) + " holds unreadable JSON");
    return Record{st.text(0), st.text(1), st.text(2), std::move(data)};
}
}  // namespace

Result<SnapshotStore> SnapshotStore::open(const std::string& path, int64_t history_keep) {
    auto db = sql::Db::open(path);
    if (!db)
        return make_error(ErrorClass::Config, "extraction.state_file",
                          "cannot open the agent's state file " + path + ": " + db.error().describe());
    if (auto r = db->exec(kSchema); !r)
        return make_error(ErrorClass::Config, "extraction.state_file",
                          "cannot create the extraction tables in " + path + ": " + r.error().describe());
    if (auto r = move_old_pending(db.value()); !r)
        return make_error(ErrorClass::Config, "extraction.state_file",
                          "cannot move the pending change sets in " + path + ": " + r.error().describe());
    return SnapshotStore(std::move(db.value()), history_keep < 1 ? 1 : history_keep);
}

Result<std::map<RecordKey, Record>> SnapshotStore::in_scope(const std::string& from, const std::string& to) {
    auto st = db_.prepare(
        "SELECT entity, key, date, data FROM extraction_records "
        "WHERE entity IN ('hospital', 'department', 'doctor') OR (entity = 'slot' AND date >= ? AND date <= ?)");
    if (!st) return storage_error("reading the snapshot", st.error());
    st->bind(1, from).bind(2, to);
    std::map<RecordKey, Record> out;
    while (st->step()) {
        auto r = row_record(st.value());
        if (!r) return r.error();
        out.emplace(RecordKey{r->entity, r->key}, std::move(r.value()));
    }
    if (st->error()) return storage_error("reading the snapshot", *st->error());
    return out;
}

Result<std::optional<Record>> SnapshotStore::find(const std::string& entity, const std::string& key) {
    auto st = db_.prepare("SELECT entity, key, date, data FROM extraction_records WHERE entity = ? AND key = ?");
    if (!st) return storage_error("reading the snapshot", st.error());
    st->bind(1, entity).bind(2, key);
    if (!st->step()) {
        if (st->error()) return storage_error("reading the snapshot", *st->error());
        return std::optional<Record>();
    }
    auto r = row_record(st.value());
    if (!r) return r.error();
    return std::optional<Record>(std::move(r.value()));
}

Result<int64_t> SnapshotStore::last_seq() {
    auto st = db_.prepare("SELECT last_seq FROM extraction_sequence WHERE id = 1");
    if (!st) return storage_error("reading the sequence", st.error());
    if (!st->step()) return storage_error("reading the sequence", st->error().value_or(make_error(ErrorClass::Internal, "extraction.storage", "no sequence row")));
    return st->integer(0);
}

Result<void> SnapshotStore::apply(const Change& c) {
    auto st = c.op == Op::Upsert
                  ? db_.prepare("INSERT INTO extraction_records(entity, key, date, data) VALUES(?, ?, ?, ?) "
                                "ON CONFLICT(entity, key) DO UPDATE SET date = excluded.date, data = excluded.data")
                  : db_.prepare("DELETE FROM extraction_records WHERE entity = ? AND key = ?");
    if (!st) return st.error();
    st->bind(1, c.record.entity).bind(2, c.record.key);
    if (c.op == Op::Upsert) st->bind(3, c.record.date).bind(4, c.record.data.dump());
    return st->run();
}

Result<PendingChangeSet> SnapshotStore::commit_impl(const std::vector<Change>& changes,
                                                    const std::function<std::string(int64_t)>& build) {
    // Records, sequence number and the pending change set: all or nothing.
    auto committed = db_.transaction([&]() -> Result<PendingChangeSet> {
        for (const auto& c : changes)
            if (auto r = apply(c); !r) return storage_error("applying " + c.record.entity + " " + c.record.key, r.error());
        auto seq = last_seq();
        if (!seq) return storage_error("reading the sequence", seq.error());
        PendingChangeSet out{seq.value() + 1, build(seq.value() + 1)};
        auto bump = db_.prepare("UPDATE extraction_sequence SET last_seq = ? WHERE id = 1");
        if (!bump) return storage_error("taking a sequence number", bump.error());
        if (auto r = bump->bind(1, out.seq).run(); !r) return storage_error("taking a sequence number", r.error());
        if (sqlite3_changes(db_.handle()) != 1)
            return make_error(ErrorClass::Internal, "extraction.storage", "the sequence row is missing from the snapshot store");
        auto keep = db_.prepare("INSERT INTO extraction_changesets(seq, body) VALUES(?, ?)");
        if (!keep) return storage_error("storing the change set", keep.error());
        if (auto r = keep->bind(1, out.seq).bind(2, out.body).run(); !r) return storage_error("storing the change set", r.error());
        return out;
    });
    if (!committed && committed.error().code == "sqlite.transaction")  // BEGIN or COMMIT itself
        return storage_error("committing the change set", committed.error());
    return committed;
}

Result<std::vector<PendingChangeSet>> SnapshotStore::pending() {
    auto st = db_.prepare("SELECT seq, body FROM extraction_changesets WHERE handed_over = 0 ORDER BY seq");
    if (!st) return storage_error("reading pending change sets", st.error());
    std::vector<PendingChangeSet> out;
    while (st->step()) out.push_back({st->integer(0), st->text(1)});
    if (st->error()) return storage_error("reading pending change sets", *st->error());
    return out;
}

Result<void> SnapshotStore::handed_over(int64_t seq) {
    auto done = db_.transaction([&]() -> Result<void> {
        auto mark = db_.prepare("UPDATE extraction_changesets SET handed_over = 1 WHERE seq = ?");
        if (!mark) return mark.error();
        if (auto r = mark->bind(1, seq).run(); !r) return r;
        // Only handed-over ones: a pending change set is never lost to the bound.
        auto prune = db_.prepare(
            "DELETE FROM extraction_changesets WHERE handed_over = 1 AND "
            "seq <= (SELECT last_seq FROM extraction_sequence WHERE id = 1) - ?");
        if (!prune) return prune.error();
        return prune->bind(1, history_keep_).run();
    });
    if (!done) return storage_error("marking a change set handed over", done.error());
    return {};
}

Result<std::optional<int64_t>> SnapshotStore::oldest_kept() {
    auto st = db_.prepare("SELECT min(seq) FROM extraction_changesets");
    if (!st) return storage_error("reading the kept change sets", st.error());
    if (!st->step() || st->is_null(0)) {
        if (st->error()) return storage_error("reading the kept change sets", *st->error());
        return std::optional<int64_t>();
    }
    return std::optional<int64_t>(st->integer(0));
}

Result<void> SnapshotStore::for_each_changeset(int64_t from, int64_t to,
                                               const std::function<bool(int64_t, const std::string&)>& each) {
    auto st = db_.prepare("SELECT seq, body FROM extraction_changesets WHERE seq >= ? AND seq <= ? ORDER BY seq");
    if (!st) return storage_error("reading kept change sets", st.error());
    st->bind(1, from).bind(2, to);
    while (st->step())
        if (!each(st->integer(0), st->text(1))) return {};
    if (st->error()) return storage_error("reading kept change sets", *st->error());
    return {};
}

Result<int64_t> SnapshotStore::read_records(const std::optional<RecordKey>& after,
                                            const std::function<bool(Record&&)>& each) {
    // A deferred read transaction: the records and the seq are of one moment. (The
    // extractor's lock already keeps its own writes out; this keeps the read honest on
    // its own.) Every entity name is non-empty, so ("", "") is before the first record;
    // the row value compares as the primary key orders, so the read walks its index.
    auto read = [&]() -> Result<int64_t> {
        auto st = db_.prepare("SELECT entity, key, date, data FROM extraction_records "
                              "WHERE (entity, key) > (?, ?) ORDER BY entity, key");
        if (!st) return st.error();
        st->bind(1, after ? after->first : std::string()).bind(2, after ? after->second : std::string());
        while (st->step()) {
            auto r = row_record(st.value());
            if (!r) return r.error();
            if (!each(std::move(r.value()))) break;
        }
        if (st->error()) return *st->error();
        return last_seq();
    };
    if (auto began = db_.exec("BEGIN"); !began) return storage_error("reading the snapshot", began.error());
    auto seq = read();
    if (!seq) return storage_error("reading the snapshot", db_.abandon_transaction(seq.error()));
    if (auto ended = db_.exec("COMMIT"); !ended)
        return storage_error("reading the snapshot", db_.abandon_transaction(ended.error()));
    return seq;
}

}  // namespace hisgate::extraction
