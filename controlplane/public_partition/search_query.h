// Patient search over the reference tables (issue 14 item 3): hospitals, departments,
// doctors and free slots, read from a file holding ReferenceTables' schema (a read replica's,
// or the primary's own). What the API looks like is in docs/public-partition.md, "Search".
//
// Two steps, so the caller can do its own work between them (a replica waits for min_seq):
//   parse_search  every parameter checked, within bounds, before anything else is done;
//   run_search    the page, by prepared statements built from fixed fragments only (every
//                 value the caller sent is bound, never spliced into SQL).
//
// Order and paging. Each kind has a total order (a unique tie-break), and a page resumes
// strictly after the last item of the one before (keyset: WHERE (key) > (last key), never
// OFFSET), so a row inserted or removed between pages neither repeats nor hides another.
// The cursor carries that last key, the kind and a digest of the filters it was made under;
// a cursor damaged, made by another kind or under other filters is refused (bad_param
// "cursor"). The digest is not a secret: whoever crafts a valid cursor only chooses where a
// page starts, which the values being bound keeps harmless.
//
// Text (q). Matched as a substring of the row's search_text (reference_tables.h), both
// sides Latin-lowercased, wildcards literal. A q without % or _ goes through the FTS5
// trigram table (indexed), as a MATCH of one phrase (a substring, found from the index's
// positions alone): three or more code points as they are, one or two (fewer than a
// trigram) as the trigram of their spaced-out form, which the table holds too
// (ReferenceTables::indexed_text). A q holding % or _ needs an ESCAPE
// clause, and SQLite never hands a LIKE with ESCAPE to FTS5, so it is a LIKE ... ESCAPE
// over the base table's search_text column (a scan). For slots, q matches the slot's
// doctor's search_text: the doctors are found first, then their slots.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/sqlite.h"

namespace hisgate::controlplane::public_partition {

enum class SearchKind { Hospitals, Departments, Doctors, Slots };

inline constexpr const char* kSearchBadParam = "search.bad_param";
inline constexpr int kSearchDefaultLimit = 20;
inline constexpr int kSearchMaxLimit = 100;
inline constexpr size_t kSearchMaxQBytes = 64;
inline constexpr int kSearchDefaultDays = 7;  // the slot window when `to` is not given: from .. from + 6
inline constexpr int kSearchMaxDays = 31;     // from .. to, both included

// "hospitals" -> Hospitals ...; nullopt for anything else.
std::optional<SearchKind> search_kind(std::string_view name);
const char* search_kind_name(SearchKind kind);
// The parameters a kind takes, in the order the error message lists them.
const std::vector<const char*>& search_params(SearchKind kind);

struct SearchRequest {
    SearchKind kind = SearchKind::Hospitals;
    std::string q;  // as given (lowercased when matched); "" for none
    int limit = kSearchDefaultLimit;
    std::optional<int64_t> min_seq;  // checked and carried; the replica waits for it
    // Equality filters, by parameter name ("region", "hospital", "half", ...), as given.
    std::map<std::string, std::string> filters;
    // Slots only.
    std::string from, to;  // YYYY-MM-DD, both included
    std::optional<int64_t> fee_min, fee_max;
    bool free_only = true;
    // The sort key of the last item of the previous page (from the cursor); empty for the
    // first page. Hospitals: {hospital_id}; departments, doctors: {hospital_id, key};
    // slots: {date, start_time, hospital_id, key}.
    std::vector<std::string> after;
    std::string filter_digest;  // what a cursor made for this request carries
};

// `params`: the query string's parameters, name -> value (common/query_params.h's
// read_query gives them). `today`: the caller's date, YYYY-MM-DD, the slot window's
// default start (in the time zone the caller serves). Errors: BadInput kSearchBadParam
// naming the parameter and what was expected; Internal "search.today" when `today` is not
// a date (the caller's bug).
Result<SearchRequest> parse_search(SearchKind kind, const std::map<std::string, std::string>& params,
                                   std::string_view today);

// {"items": [...], "next": "<cursor>" | null}. Each item is the record's data plus
// "hospitalId" and "suspect" (the hospital has a gap: its data may be incomplete); doctors
// add "hospitalName", slots "free" (capacity - booked, at least 0: a hint, booking asks the
// HIS), "doctorName" and "hospitalName". Errors: SQLite's (Internal), and Internal
// "search.storage" for a row whose data is not JSON.
Result<nlohmann::json> run_search(sql::Db& db, const SearchRequest& r);

// SQLite's plan for run_search's statement (EXPLAIN QUERY PLAN, one line per step): what
// tests and benchmarks check the indexes against (an FTS5 step reads "VIRTUAL TABLE
// INDEX 0:M" when the trigram index takes the MATCH, "INDEX 0:" when it scans).
Result<std::vector<std::string>> explain_search(sql::Db& db, const SearchRequest& r);

}  // namespace hisgate::controlplane::public_partition
