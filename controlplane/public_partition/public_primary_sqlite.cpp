// PublicPrimary on SQLite: the reference tables (reference_tables.h) plus
//   pub_stream(pos, hospital_id, at_ms, checksum, body)   the change stream, pruned to stream_keep
//   pub_gaps(hospital_id, highest, since_ms)              hospitals with change sets missing
//   pub_held(hospital_id, seq, records)                   change sets from the future
#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/log.h"
#include "common/metrics.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::public_partition {

namespace {

struct Hospital {
    int64_t seq = 0;
    bool suspect = false;
    int64_t highest = 0;  // of the gap, 0 without one
};

class SqlitePublicPrimary final : public PublicPrimary {
public:
    SqlitePublicPrimary(sql::Db db, std::string path, Clock& clock, PrimarySettings settings)
        : db_(std::move(db)), tables_(db_), path_(std::move(path)), clock_(clock), settings_(settings) {}

    Result<ApplyOutcome> apply(const ChangeSet& cs) override {
        std::lock_guard lock(mu_);
        auto outcome = db_.transaction([&]() -> Result<ApplyOutcome> {
            auto h = hospital(cs.hospital_id);
            if (!h) return h.error();
            if (cs.seq <= h->seq) return outcome_of(Applied::Past, h->seq);
            if (cs.seq > h->seq + 1) return hold(cs, *h);
            return advance(cs.hospital_id, *h, EntryKind::Changes, cs.seq, cs.changes);
        });
        if (outcome) count_applied(outcome->applied == Applied::Applied ? "applied"
                                   : outcome->applied == Applied::Past  ? "past"
                                                                        : "held");
        return outcome;
    }

    Result<ApplyOutcome> apply_snapshot(const Snapshot& s) override {
        std::lock_guard lock(mu_);
        auto outcome = db_.transaction([&]() -> Result<ApplyOutcome> {
            auto h = hospital(s.hospital_id);
            if (!h) return h.error();
            if (s.seq < h->seq) return outcome_of(Applied::Past, h->seq);
            bool contradicted = false;
            if (s.seq == h->seq) {
                // The same seq must mean the same rows: if not, the stream built something
                // else than the agent holds. The snapshot wins (the agent is the source).
                auto before = tables_.hospital_checksum(s.hospital_id);
                if (!before) return before.error();
                uint64_t after = 0;
                for (const auto& r : s.records) after += ReferenceTables::row_hash(r.entity, s.hospital_id, r.key, r.data.dump());
                contradicted = *before != after;
            }
            auto done = advance(s.hospital_id, *h, EntryKind::Replace, s.seq, s.records);
            if (done) done->contradicted = contradicted;
            return done;
        });
        if (outcome) {
            count_applied(outcome->applied == Applied::Past ? "snapshot_past" : "snapshot");
            if (outcome->contradicted) {
                count_applied("snapshot_contradicted");
                log::warn("public.snapshot_contradicted", {{"hospital_id", s.hospital_id}, {"seq", s.seq}});
            }
        }
        return outcome;
    }

    Result<std::vector<HospitalGap>> gaps() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(
            "SELECT g.hospital_id, coalesce(h.seq, 0), g.highest, g.since_ms, "
            "(SELECT count(*) FROM pub_held p WHERE p.hospital_id = g.hospital_id) "
            "FROM pub_gaps g LEFT JOIN ref_hospital_state h ON h.hospital_id = g.hospital_id ORDER BY g.since_ms");
        if (!s) return s.error();
        std::vector<HospitalGap> out;
        while (s->step()) out.push_back({s->text(0), s->integer(1), s->integer(2), s->integer(3), s->integer(4)});
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<HospitalState>> hospitals() override {
        std::lock_guard lock(mu_);
        return tables_.hospital_states();
    }

    Result<StreamHead> head() override {
        std::lock_guard lock(mu_);
        return head_locked();
    }

    Result<std::optional<nlohmann::json>> slot(const std::string& hospital_id, const std::string& slot_id) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached("SELECT data FROM ref_slots WHERE hospital_id = ?1 AND record_key = ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, slot_id);
        if (!s->step()) {
            if (s->error()) return *s->error();
            return std::optional<nlohmann::json>();
        }
        auto data = nlohmann::json::parse(s->text(0), nullptr, false);
        if (data.is_discarded() || !data.is_object())
            return make_error(ErrorClass::Internal, "public.bad_row", "a stored slot is not a JSON object");
        return std::optional<nlohmann::json>(std::move(data));
    }

    Result<std::optional<nlohmann::json>> reference(const std::string& entity, const std::string& hospital_id,
                                                    const std::string& key) override {
        // Table names are constants chosen here, never input.
        const char* sql = entity == kHospital
                              ? "SELECT t.data, COALESCE(st.suspect, 0) FROM ref_hospitals t LEFT JOIN ref_hospital_state st "
                                "ON st.hospital_id = t.hospital_id WHERE t.hospital_id = ?1 AND t.record_key = ?2"
                          : entity == kDoctor
                              ? "SELECT t.data, COALESCE(st.suspect, 0) FROM ref_doctors t LEFT JOIN ref_hospital_state st "
                                "ON st.hospital_id = t.hospital_id WHERE t.hospital_id = ?1 AND t.record_key = ?2"
                              : nullptr;
        if (!sql) return make_error(ErrorClass::Internal, "public.entity", "no reference reader for " + entity);
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached(sql);
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, key);
        if (!s->step()) {
            if (s->error()) return *s->error();
            return std::optional<nlohmann::json>();
        }
        auto data = nlohmann::json::parse(s->text(0), nullptr, false);
        if (data.is_discarded() || !data.is_object())
            return make_error(ErrorClass::Internal, "public.bad_row", "a stored " + entity + " is not a JSON object");
        data["hospitalId"] = hospital_id;
        data["suspect"] = s->integer(1) != 0;
        return std::optional<nlohmann::json>(std::move(data));
    }

    Result<nlohmann::json> search(const SearchRequest& r) override {
        std::lock_guard lock(mu_);
        return run_search(db_, r);
    }

    Result<std::vector<std::string>> stream_after(int64_t after, size_t max_entries, size_t max_bytes) override {
        std::lock_guard lock(mu_);
        auto h = head_locked();
        if (!h) return h.error();
        if (after > h->pos)
            return make_error(ErrorClass::BadInput, "stream.ahead",
                              "position " + std::to_string(after) + " is past the primary's " + std::to_string(h->pos));
        if (h->pos > after && after + 1 < h->oldest)
            return make_error(ErrorClass::NotFound, "stream.gone",
                              "entries after " + std::to_string(after) + " are no longer kept (oldest " +
                                  std::to_string(h->oldest) + "): re-seed from a snapshot");
        auto s = db_.prepare_cached("SELECT body FROM pub_stream WHERE pos > ?1 ORDER BY pos LIMIT ?2");
        if (!s) return s.error();
        s->bind(1, after).bind(2, static_cast<int64_t>(max_entries));
        std::vector<std::string> out;
        size_t bytes = 0;
        while (s->step()) {
            auto body = s->text(0);
            if (!out.empty() && bytes + body.size() > max_bytes) break;
            bytes += body.size();
            out.push_back(std::move(body));
        }
        if (s->error()) return *s->error();
        return out;
    }

    Result<Position> write_snapshot(const std::string& path) override {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        {
            auto target = sql::Db::open_with_schema(path, ReferenceTables::schema());
            if (!target) return target.error();
        }
        // A connection of its own: the copy reads in its own transaction (WAL: the applies
        // go on meanwhile) and this store's lock is not held for its length.
        auto copier = sql::Db::open(path_);
        if (!copier) return copier.error();
        auto attach = copier->prepare("ATTACH DATABASE ?1 AS snap");
        if (!attach) return attach.error();
        attach->bind(1, path);
        if (auto r = attach->run(); !r) return r.error();
        auto copied = copier->transaction([&]() -> Result<Position> {
            if (auto r = ReferenceTables::copy(*copier, "main", "snap"); !r) return r.error();
            return ReferenceTables(*copier).position();
        });
        if (auto r = copier->exec("DETACH DATABASE snap"); !r) log::warn("public.snapshot_detach", {{"error", r.error().describe()}});
        return copied;
    }

private:
    ApplyOutcome outcome_of(Applied a, int64_t seq) {
        auto at = tables_.position();
        return ApplyOutcome{a, seq, at ? at->pos : 0, false};
    }

    Result<Hospital> hospital(const std::string& hospital_id) {
        auto s = db_.prepare_cached(
            "SELECT coalesce(h.seq, 0), coalesce(h.suspect, 0), coalesce(g.highest, 0) FROM (SELECT ?1 AS id) q "
            "LEFT JOIN ref_hospital_state h ON h.hospital_id = q.id LEFT JOIN pub_gaps g ON g.hospital_id = q.id");
        if (!s) return s.error();
        s->bind(1, hospital_id);
        if (!s->step()) return s->error() ? *s->error() : make_error(ErrorClass::Internal, "public.storage", "no row");
        return Hospital{s->integer(0), s->integer(1) != 0, s->integer(2)};
    }

    // A change set from the future: held, and the gap before it opened or widened.
    Result<ApplyOutcome> hold(const ChangeSet& cs, const Hospital& h) {
        auto held = db_.prepare_cached("SELECT count(*) FROM pub_held WHERE hospital_id = ?1");
        if (!held) return held.error();
        held->bind(1, cs.hospital_id);
        if (!held->step()) return held->error() ? *held->error() : make_error(ErrorClass::Internal, "public.storage", "count");
        const int64_t count = held->integer(0);
        held->reset();
        // Past max_held the change set is not kept: the gap covers it and closes by a
        // snapshot (gap_repair.h), which includes it.
        if (count < settings_.max_held) {
            auto put = db_.prepare_cached("INSERT OR IGNORE INTO pub_held(hospital_id, seq, records) VALUES(?1, ?2, ?3)");
            if (!put) return put.error();
            put->bind(1, cs.hospital_id).bind(2, cs.seq).bind(3, records_to_json(cs.changes).dump());
            if (auto r = put->run(); !r) return r.error();
        }
        auto gap = db_.prepare_cached(
            "INSERT INTO pub_gaps(hospital_id, highest, since_ms) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(hospital_id) DO UPDATE SET highest = max(highest, excluded.highest)");
        if (!gap) return gap.error();
        gap->bind(1, cs.hospital_id).bind(2, cs.seq).bind(3, clock_.wall_ms());
        if (auto r = gap->run(); !r) return r.error();
        if (!h.suspect) {
            // Replicas learn of the gap, so searches flag the hospital from now on.
            StreamEntry e;
            e.hospital_id = cs.hospital_id;
            e.kind = EntryKind::State;
            e.seq = h.seq;
            e.suspect = true;
            if (auto r = append(e); !r) return r.error();
            log::warn("public.gap_opened", {{"hospital_id", cs.hospital_id}, {"seq", h.seq}, {"arrived", cs.seq}});
        }
        return outcome_of(Applied::Held, h.seq);
    }

    // Applies `records` as the hospital's `seq` (a change set, or a snapshot's rows), then
    // every held change set that follows, each as one stream entry.
    Result<ApplyOutcome> advance(const std::string& hospital_id, const Hospital& h, EntryKind kind, int64_t seq,
                                 const std::vector<RecordChange>& records) {
        struct Step {
            int64_t seq;
            EntryKind kind;
            std::vector<RecordChange> records;
        };
        std::vector<Step> steps;
        steps.push_back({seq, kind, records});
        auto next = db_.prepare_cached("SELECT records FROM pub_held WHERE hospital_id = ?1 AND seq = ?2");
        if (!next) return next.error();
        for (int64_t s = seq + 1;; ++s) {
            next->bind(1, hospital_id).bind(2, s);
            if (!next->step()) {
                if (next->error()) return *next->error();
                next->reset();
                break;
            }
            auto text = next->text(0);
            next->reset();
            auto parsed = parse_change_records(nlohmann::json::parse(text, nullptr, false), hospital_id);
            if (!parsed) return make_error(ErrorClass::Internal, "public.storage", "held change set: " + parsed.error().message);
            steps.push_back({s, EntryKind::Changes, std::move(parsed.value())});
        }
        const int64_t last = steps.back().seq;
        const bool suspect = h.highest > last;  // change sets are still missing after it
        auto drop = db_.prepare_cached("DELETE FROM pub_held WHERE hospital_id = ?1 AND seq <= ?2");
        if (!drop) return drop.error();
        drop->bind(1, hospital_id).bind(2, last);
        if (auto r = drop->run(); !r) return r.error();
        if (!suspect && h.highest > 0) {
            auto closed = db_.prepare_cached("DELETE FROM pub_gaps WHERE hospital_id = ?1");
            if (!closed) return closed.error();
            closed->bind(1, hospital_id);
            if (auto r = closed->run(); !r) return r.error();
            log::info("public.gap_closed", {{"hospital_id", hospital_id}, {"seq", last}});
        }
        for (auto& step : steps) {
            StreamEntry e;
            e.hospital_id = hospital_id;
            e.kind = step.kind;
            e.seq = step.seq;
            e.suspect = suspect;
            e.records = std::move(step.records);
            if (auto r = append(e); !r) return r.error();
        }
        return outcome_of(Applied::Applied, last);
    }

    Result<void> append(StreamEntry& e) {
        const int64_t now = clock_.wall_ms();
        auto at = tables_.position();
        if (!at) return at.error();
        e.pos = at->pos + 1;
        e.at_ms = now;
        auto sum = tables_.apply(e, now);
        if (!sum) return sum.error();
        e.checksum = *sum;
        auto put = db_.prepare_cached("INSERT INTO pub_stream(pos, hospital_id, at_ms, checksum, body) VALUES(?1, ?2, ?3, ?4, ?5)");
        if (!put) return put.error();
        put->bind(1, e.pos).bind(2, e.hospital_id).bind(3, now).bind(4, checksum_text(e.checksum)).bind(5, e.to_json().dump());
        if (auto r = put->run(); !r) return r.error();
        if (e.pos % 1000 == 0) {
            auto prune = db_.prepare_cached("DELETE FROM pub_stream WHERE pos <= ?1");
            if (!prune) return prune.error();
            prune->bind(1, e.pos - settings_.stream_keep);
            if (auto r = prune->run(); !r) return r.error();
        }
        return {};
    }

    Result<StreamHead> head_locked() {
        auto s = db_.prepare_cached(
            "SELECT pos, checksum, at_ms, (SELECT min(pos) FROM pub_stream) FROM pub_stream ORDER BY pos DESC LIMIT 1");
        if (!s) return s.error();
        if (!s->step()) {
            if (s->error()) return *s->error();
            auto at = tables_.position();
            if (!at) return at.error();
            return StreamHead{at->pos, at->checksum, 0, 0};
        }
        auto sum = parse_checksum(s->text(1));
        if (!sum) return make_error(ErrorClass::Internal, "public.storage", "pub_stream.checksum: " + sum.error().message);
        return StreamHead{s->integer(0), *sum, s->integer(2), s->integer(3)};
    }

    std::mutex mu_;
    sql::Db db_;
    ReferenceTables tables_;
    std::string path_;
    Clock& clock_;
    PrimarySettings settings_;
};

}  // namespace

void count_applied(const char* outcome) {
    metrics::global()
        .counter("hisgate_public_changesets_total", "Change sets and snapshots the public primary took, by outcome",
                 {{"outcome", outcome}})
        .inc();
}

Result<std::unique_ptr<PublicPrimary>> open_sqlite_public_primary(const std::string& path, Clock& clock,
                                                                  PrimarySettings settings) {
    auto schema = ReferenceTables::schema();
    schema.push_back("CREATE TABLE IF NOT EXISTS pub_stream(pos INTEGER PRIMARY KEY, hospital_id TEXT NOT NULL, "
                     "at_ms INTEGER NOT NULL, checksum TEXT NOT NULL, body TEXT NOT NULL)");
    schema.push_back("CREATE TABLE IF NOT EXISTS pub_gaps(hospital_id TEXT PRIMARY KEY, highest INTEGER NOT NULL, "
                     "since_ms INTEGER NOT NULL)");
    schema.push_back("CREATE TABLE IF NOT EXISTS pub_held(hospital_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                     "records TEXT NOT NULL, PRIMARY KEY(hospital_id, seq))");
    auto db = sql::Db::open_with_schema(path, schema);
    if (!db) return db.error();
    if (auto r = ReferenceTables(*db).upgrade_text_index(); !r) return r.error();
    return std::unique_ptr<PublicPrimary>(new SqlitePublicPrimary(std::move(db.value()), path, clock, settings));
}

}  // namespace hisgate::controlplane::public_partition
