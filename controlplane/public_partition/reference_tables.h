// The public partition's reference tables: every hospital's hospital record, departments,
// doctors and slots, in one SQLite file, the same on the primary and on each replica. Only
// apply() writes them, one stream entry at a time, so a replica that applied entries 1..pos
// holds exactly what the primary held at pos.
//
// Position and checksum. ref_meta holds `pos` (the last entry applied) and `checksum`: the
// sum, modulo 2^64, of a hash of every row (entity, hospital, key, data). Each row keeps its
// own hash, so apply() updates the sum in O(rows changed), and recompute_checksum() can
// verify it from the rows alone: equal sums at equal positions mean equal tables (up to a
// 64-bit hash collision), which is how a replica checks itself against the primary.
//
// Text search. Hospitals, departments and doctors each keep their searchable text (names,
// title, city, and the names' pinyin: search_text.h) in a search_text column and in an FTS5
// table (trigram tokenizer) keyed by the row's rowid. A LIKE '%text%' over the FTS table
// uses the trigram index from three characters on; SQLite 3.40 (Debian 12) answers a
// shorter pattern there with no rows. So the FTS table holds the text twice (indexed_text):
// as it is, and spaced out by kTextSpacer, in which one or two characters (王, 芳, 王芳)
// are three: a substring of one code point c is "<spacer>c<spacer>", of two "c1<spacer>c2"
// (search_query.h). Without it a two-character name read every row of the table.
//
// Every method but position() and the readers expects the caller's open transaction:
// an entry applies whole or not at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "controlplane/public_partition/stream_entry.h"

namespace hisgate::controlplane::public_partition {

struct Position {
    int64_t pos = 0;
    uint64_t checksum = 0;
};

struct HospitalState {
    std::string hospital_id;
    int64_t seq = 0;
    bool suspect = false;
    int64_t applied_ms = 0;  // when its last entry was applied here
};

class ReferenceTables {
public:
    // The tables' DDL, for sql::Db::open_with_schema (with the owner's own tables).
    static std::vector<std::string_view> schema();

    explicit ReferenceTables(sql::Db& db) : db_(db) {}

    // Applies `e` and records its pos, and the checksum that results, as this file's
    // position. Errors: Internal "public.order" when e.pos is not position().pos + 1, and
    // SQLite's. The caller's transaction is left for it to roll back on error.
    Result<uint64_t> apply(const StreamEntry& e, int64_t now_ms);

    Result<Position> position();
    Result<std::vector<HospitalState>> hospital_states();
    // The checksum computed from every row, ignoring the one kept in ref_meta.
    Result<uint64_t> recompute_checksum();
    // The sum of the hashes of one hospital's rows (a snapshot against what it replaces).
    Result<uint64_t> hospital_checksum(const std::string& hospital_id);
    // Copies every reference table of schema `from` into the same, empty, tables of schema
    // `to` (two attached databases of `db`), inside the caller's transaction. Schema names
    // are the caller's own constants, never input.
    static Result<void> copy(sql::Db& db, const std::string& from, const std::string& to);
    // U+001F: a control character, which no q holds (search_query.h refuses them) and
    // indexed_text removes from the text it spaces out.
    static constexpr char kTextSpacer = '\x1f';
    // What a row's FTS table holds for its search_text: the text, a newline, and the text
    // without any kTextSpacer with kTextSpacer before every code point and after the last.
    static std::string indexed_text(std::string_view search_text);
    // Rewrites the FTS tables of a file written before indexed_text's form (ref_meta
    // "text_form"); a no-op on a file already in it. The file's owner calls it once after
    // opening it with schema(), outside any transaction (it runs its own).
    Result<void> upgrade_text_index();

    // The hash a row of `entity` with this key and data contributes.
    static uint64_t row_hash(std::string_view entity, std::string_view hospital_id, std::string_view key,
                             const std::string& data_text);

private:
    Result<void> upsert(const std::string& hospital_id, const RecordChange& r, uint64_t& sum);
    Result<void> remove(const std::string& hospital_id, const std::string& entity, const std::string& key,
                        uint64_t& sum);
    Result<void> remove_hospital(const std::string& hospital_id, uint64_t& sum);
    sql::Db& db_;
};

}  // namespace hisgate::controlplane::public_partition
