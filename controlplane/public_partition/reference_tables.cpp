#include "controlplane/public_partition/reference_tables.h"

#include <cstring>

#include "controlplane/public_partition/search_text.h"

namespace hisgate::controlplane::public_partition {

namespace {

struct Column {
    const char* name;   // in the table
    const char* field;  // in the record's data
    bool integer;
};

struct Table {
    const char* entity;
    const char* name;
    const char* text_table;  // FTS5 table of its searchable text; nullptr for none
    std::vector<Column> columns;
    std::vector<const char*> text_fields;  // the data fields searched
};

const std::vector<Table>& tables() {
    static const std::vector<Table> t = {
        {kHospital, "ref_hospitals", "ref_hospital_text",
         {{"name", "name", false}, {"region", "region", false}, {"city", "city", false}, {"level", "level", false}},
         {"name", "city"}},
        {kDepartment, "ref_departments", "ref_department_text", {{"name", "name", false}}, {"name"}},
        {kDoctor, "ref_doctors", "ref_doctor_text",
         {{"department_id", "departmentId", false}, {"name", "name", false}, {"title", "title", false}},
         {"name", "title", "specialty"}},
        {kSlot, "ref_slots", nullptr,
         {{"doctor_id", "doctorId", false}, {"department_id", "departmentId", false}, {"date", "date", false},
          {"start_time", "start", false}, {"end_time", "end", false}, {"half", "half", false},
          {"capacity", "capacity", true}, {"booked", "booked", true}, {"fee_cents", "feeCents", true}},
         {}},
    };
    return t;
}

const Table& table_of(const std::string& entity) {
    for (const auto& t : tables())
        if (entity == t.entity) return t;
    HISGATE_CHECK(false, "entity", entity);  // parse_change_set admits only kEntities
    return tables().front();
}

std::string text_of(const nlohmann::json& data, const char* field) {
    auto it = data.find(field);
    return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t integer_of(const nlohmann::json& data, const char* field) {
    auto it = data.find(field);
    return it != data.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

Result<std::string> meta(sql::Db& db, const char* key) {
    auto s = db.prepare_cached("SELECT value FROM ref_meta WHERE key = ?1");
    if (!s) return s.error();
    s->bind(1, std::string_view(key));
    if (s->step()) return s->text(0);
    if (s->error()) return *s->error();
    return std::string();
}

Result<void> set_meta(sql::Db& db, const char* key, const std::string& value) {
    auto s = db.prepare_cached(
        "INSERT INTO ref_meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!s) return s.error();
    s->bind(1, std::string_view(key)).bind(2, value);
    return s->run();
}

}  // namespace

std::vector<std::string_view> ReferenceTables::schema() {
    static const std::vector<std::string> ddl = [] {
        std::vector<std::string> out = {
            "CREATE TABLE IF NOT EXISTS ref_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS ref_hospital_state(hospital_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
            "suspect INTEGER NOT NULL, applied_ms INTEGER NOT NULL)",
            // The slots' whole sort order (search_query.cpp): a search by date walks it and
            // stops at its page. On (date, start_time) alone every slot of a date and time
            // (one per doctor in the country) was read and sorted for the first page.
            "DROP INDEX IF EXISTS ref_slots_by_date",
            "CREATE INDEX IF NOT EXISTS ref_slots_by_time ON ref_slots(date, start_time, hospital_id, record_key)",
            "CREATE INDEX IF NOT EXISTS ref_slots_by_doctor ON ref_slots(hospital_id, doctor_id, date)",
            // A hospital's department over dates, in the slots' order (the commonest search:
            // without it every slot of the hospital was read and sorted).
            "CREATE INDEX IF NOT EXISTS ref_slots_by_department ON ref_slots(hospital_id, department_id, date, start_time, "
            "record_key)",
            "CREATE INDEX IF NOT EXISTS ref_doctors_by_department ON ref_doctors(hospital_id, department_id)",
            "CREATE INDEX IF NOT EXISTS ref_hospitals_by_place ON ref_hospitals(region, city)",
        };
        std::vector<std::string> tables_ddl;
        for (const auto& t : tables()) {
            // row_id is the rowid by name, so a copy with SELECT * keeps it, and with it the
            // link to the row's text in the FTS table.
            std::string cols = "row_id INTEGER PRIMARY KEY, hospital_id TEXT NOT NULL, record_key TEXT NOT NULL";
            for (const auto& c : t.columns) cols += std::string(", ") + c.name + (c.integer ? " INTEGER" : " TEXT");
            if (t.text_table) cols += ", search_text TEXT NOT NULL";
            tables_ddl.push_back(std::string("CREATE TABLE IF NOT EXISTS ") + t.name + "(" + cols +
                                 ", data TEXT NOT NULL, row_hash INTEGER NOT NULL, UNIQUE(hospital_id, record_key))");
            if (t.text_table)
                tables_ddl.push_back(std::string("CREATE VIRTUAL TABLE IF NOT EXISTS ") + t.text_table +
                                     " USING fts5(text, tokenize = 'trigram')");
        }
        out.insert(out.begin() + 2, tables_ddl.begin(), tables_ddl.end());  // before their indexes
        return out;
    }();
    return {ddl.begin(), ddl.end()};
}

uint64_t ReferenceTables::row_hash(std::string_view entity, std::string_view hospital_id, std::string_view key,
                                   const std::string& data_text) {
    // FNV-1a, 64 bits: cheap, and enough to tell a divergent replica (not a defence against
    // an adversary, who cannot write the tables anyway).
    uint64_t h = 14695981039346656037ull;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
        h ^= 0xff;  // a separator no UTF-8 text holds
        h *= 1099511628211ull;
    };
    mix(entity);
    mix(hospital_id);
    mix(key);
    mix(data_text);
    return h;
}

Result<void> ReferenceTables::upsert(const std::string& hospital_id, const RecordChange& r, uint64_t& sum) {
    const Table& t = table_of(r.entity);
    if (auto gone = remove(hospital_id, r.entity, r.key, sum); !gone) return gone.error();
    std::string cols = "hospital_id, record_key", params = "?1, ?2";
    int i = 3;
    for (const auto& c : t.columns) {
        cols += std::string(", ") + c.name;
        params += ", ?" + std::to_string(i++);
    }
    std::string text;
    if (t.text_table) {
        for (const char* f : t.text_fields) {
            auto v = text_of(r.data, f);
            if (!v.empty()) text += (text.empty() ? "" : " ") + v;
        }
        text = search_text(text);
        cols += ", search_text";
        params += ", ?" + std::to_string(i++);
    }
    cols += ", data, row_hash";
    params += ", ?" + std::to_string(i) + ", ?" + std::to_string(i + 1);
    auto s = db_.prepare_cached(std::string("INSERT INTO ") + t.name + "(" + cols + ") VALUES(" + params + ")");
    if (!s) return s.error();
    const std::string data_text = r.data.dump();
    const uint64_t h = row_hash(r.entity, hospital_id, r.key, data_text);
    s->bind(1, hospital_id).bind(2, r.key);
    i = 3;
    for (const auto& c : t.columns) {
        if (c.integer) s->bind(i++, integer_of(r.data, c.field));
        else s->bind(i++, text_of(r.data, c.field));
    }
    if (t.text_table) s->bind(i++, text);
    s->bind(i, data_text).bind(i + 1, static_cast<int64_t>(h));
    if (auto done = s->run(); !done) return done.error();
    sum += h;
    if (!t.text_table) return {};
    auto fts = db_.prepare_cached(std::string("INSERT INTO ") + t.text_table + "(rowid, text) VALUES(?1, ?2)");
    if (!fts) return fts.error();
    fts->bind(1, db_.last_insert_rowid()).bind(2, indexed_text(text));
    return fts->run();
}

std::string ReferenceTables::indexed_text(std::string_view search_text) {
    std::string out(search_text);
    out += '\n';
    out += kTextSpacer;
    for (size_t i = 0; i < search_text.size();) {
        const auto c = static_cast<unsigned char>(search_text[i]);
        // A code point's bytes: its lead byte and the continuation bytes after it (text
        // that is not UTF-8 is spaced out byte by byte, and matches as it did).
        size_t n = 1;
        if (c >= 0xc0)
            while (i + n < search_text.size() && (static_cast<unsigned char>(search_text[i + n]) & 0xc0) == 0x80) ++n;
        if (!(n == 1 && c == static_cast<unsigned char>(kTextSpacer))) {
            out.append(search_text.substr(i, n));
            out += kTextSpacer;
        }
        i += n;
    }
    return out;
}

Result<void> ReferenceTables::upgrade_text_index() {
    static constexpr const char* kTextForm = "spaced-1";
    return db_.transaction([&]() -> Result<void> {
        auto form = meta(db_, "text_form");
        if (!form) return form.error();
        if (*form == kTextForm) return {};
        for (const auto& t : tables()) {
            if (!t.text_table) continue;
            if (auto r = db_.exec(std::string("DELETE FROM ") + t.text_table); !r) return r.error();
            auto rows = db_.prepare(std::string("SELECT row_id, search_text FROM ") + t.name);
            if (!rows) return rows.error();
            auto put = db_.prepare(std::string("INSERT INTO ") + t.text_table + "(rowid, text) VALUES(?1, ?2)");
            if (!put) return put.error();
            while (rows->step()) {
                put->bind(1, rows->integer(0)).bind(2, indexed_text(rows->text(1)));
                if (auto r = put->run(); !r) return r.error();
            }
            if (rows->error()) return *rows->error();
        }
        return set_meta(db_, "text_form", kTextForm);
    });
}

Result<void> ReferenceTables::remove(const std::string& hospital_id, const std::string& entity, const std::string& key,
                                     uint64_t& sum) {
    const Table& t = table_of(entity);
    auto s = db_.prepare_cached(std::string("DELETE FROM ") + t.name +
                                " WHERE hospital_id = ?1 AND record_key = ?2 RETURNING row_id, row_hash");
    if (!s) return s.error();
    s->bind(1, hospital_id).bind(2, key);
    if (!s->step()) return s->error() ? Result<void>(*s->error()) : Result<void>();  // nothing to remove
    const int64_t rowid = s->integer(0);
    sum -= static_cast<uint64_t>(s->integer(1));
    if (s->step() || s->error()) return make_error(ErrorClass::Internal, "public.storage", "two rows under one key");
    s->reset();
    if (!t.text_table) return {};
    auto fts = db_.prepare_cached(std::string("DELETE FROM ") + t.text_table + " WHERE rowid = ?1");
    if (!fts) return fts.error();
    fts->bind(1, rowid);
    return fts->run();
}

Result<void> ReferenceTables::remove_hospital(const std::string& hospital_id, uint64_t& sum) {
    for (const auto& t : tables()) {
        auto s = db_.prepare_cached(std::string("SELECT record_key FROM ") + t.name + " WHERE hospital_id = ?1");
        if (!s) return s.error();
        s->bind(1, hospital_id);
        std::vector<std::string> keys;
        while (s->step()) keys.push_back(s->text(0));
        if (s->error()) return *s->error();
        s->reset();
        for (const auto& k : keys)
            if (auto r = remove(hospital_id, t.entity, k, sum); !r) return r.error();
    }
    return {};
}

Result<uint64_t> ReferenceTables::apply(const StreamEntry& e, int64_t now_ms) {
    HISGATE_CHECK(db_.in_transaction(), "pos", e.pos);
    auto at = position();
    if (!at) return at.error();
    if (e.pos != at->pos + 1)
        return make_error(ErrorClass::Internal, "public.order",
                          "stream entry " + std::to_string(e.pos) + " does not follow position " + std::to_string(at->pos));
    uint64_t sum = at->checksum;
    if (e.kind == EntryKind::Replace)
        if (auto r = remove_hospital(e.hospital_id, sum); !r) return r.error();
    for (const auto& r : e.records) {
        auto done = r.remove ? remove(e.hospital_id, r.entity, r.key, sum) : upsert(e.hospital_id, r, sum);
        if (!done) return done.error();
    }
    auto state = db_.prepare_cached(
        "INSERT INTO ref_hospital_state(hospital_id, seq, suspect, applied_ms) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(hospital_id) DO UPDATE SET seq = excluded.seq, suspect = excluded.suspect, "
        "applied_ms = excluded.applied_ms");
    if (!state) return state.error();
    state->bind(1, e.hospital_id).bind(2, e.seq).bind(3, int64_t{e.suspect}).bind(4, now_ms);
    if (auto r = state->run(); !r) return r.error();
    if (auto r = set_meta(db_, "pos", std::to_string(e.pos)); !r) return r.error();
    if (auto r = set_meta(db_, "checksum", checksum_text(sum)); !r) return r.error();
    return sum;
}

Result<Position> ReferenceTables::position() {
    auto pos = meta(db_, "pos");
    if (!pos) return pos.error();
    auto sum = meta(db_, "checksum");
    if (!sum) return sum.error();
    Position p;
    if (!pos->empty()) p.pos = std::stoll(*pos);  // written only by apply(), always digits
    if (!sum->empty()) {
        auto parsed = parse_checksum(*sum);
        if (!parsed) return make_error(ErrorClass::Internal, "public.storage", "ref_meta.checksum: " + parsed.error().message);
        p.checksum = *parsed;
    }
    return p;
}

Result<std::vector<HospitalState>> ReferenceTables::hospital_states() {
    auto s = db_.prepare("SELECT hospital_id, seq, suspect, applied_ms FROM ref_hospital_state ORDER BY hospital_id");
    if (!s) return s.error();
    std::vector<HospitalState> out;
    while (s->step()) out.push_back({s->text(0), s->integer(1), s->integer(2) != 0, s->integer(3)});
    if (s->error()) return *s->error();
    return out;
}

Result<uint64_t> ReferenceTables::recompute_checksum() {
    uint64_t sum = 0;
    for (const auto& t : tables()) {
        auto s = db_.prepare(std::string("SELECT hospital_id, record_key, data FROM ") + t.name);
        if (!s) return s.error();
        while (s->step()) sum += row_hash(t.entity, s->text(0), s->text(1), s->text(2));
        if (s->error()) return *s->error();
    }
    return sum;
}

Result<void> ReferenceTables::copy(sql::Db& db, const std::string& from, const std::string& to) {
    std::vector<std::string> names = {"ref_meta", "ref_hospital_state"};
    for (const auto& t : tables()) names.push_back(t.name);
    for (const auto& n : names)
        if (auto r = db.exec("INSERT INTO " + to + "." + n + " SELECT * FROM " + from + "." + n); !r) return r.error();
    for (const auto& t : tables())
        if (t.text_table)
            if (auto r = db.exec(std::string("INSERT INTO ") + to + "." + t.text_table + "(rowid, text) SELECT rowid, text FROM " +
                                 from + "." + t.text_table);
                !r)
                return r.error();
    return {};
}

Result<uint64_t> ReferenceTables::hospital_checksum(const std::string& hospital_id) {
    uint64_t sum = 0;
    for (const auto& t : tables()) {
        auto s = db_.prepare(std::string("SELECT record_key, data FROM ") + t.name + " WHERE hospital_id = ?1");
        if (!s) return s.error();
        s->bind(1, hospital_id);
        while (s->step()) sum += row_hash(t.entity, hospital_id, s->text(0), s->text(1));
        if (s->error()) return *s->error();
    }
    return sum;
}

}  // namespace hisgate::controlplane::public_partition
