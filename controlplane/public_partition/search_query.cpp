#include "controlplane/public_partition/search_query.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/digest.h"
#include "common/query_params.h"
#include "controlplane/public_partition/change_set.h"
#include "controlplane/public_partition/reference_tables.h"

namespace hisgate::controlplane::public_partition {

namespace {

constexpr int64_t kMaxFeeCents = 100000000000;  // change_set.cpp's bound on feeCents
constexpr int64_t kMaxSeq = int64_t{1} << 53;
constexpr size_t kMaxCursorBytes = 2048;

Error bad(const std::string& name, const std::string& expected, const std::string& found) {
    return bad_query(kSearchBadParam, name, expected, found);
}

// The number of code points of well-formed UTF-8 (no overlong forms, surrogates or values
// past U+10FFFF), or -1. Control characters count as malformed: nothing searched holds
// them, and a NUL would end the LIKE pattern SQLite sees.
int64_t utf8_code_points(std::string_view s) {
    int64_t n = 0;
    for (size_t i = 0; i < s.size(); ++n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return -1;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > s.size()) return -1;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 0x2) return -1;
            cp = (cp << 6) | (cc & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
        i += len;
    }
    return n;
}

std::optional<int64_t> integer_in(const std::string& v, int64_t max) {
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const int64_t n = std::stoll(v);
    if (n > max) return std::nullopt;
    return n;
}

// A calendar date YYYY-MM-DD, as days since 1970-01-01.
std::optional<std::chrono::sys_days> parse_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    auto num = [&](size_t from, size_t n) {
        int v = 0;
        for (size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)), std::chrono::month(static_cast<unsigned>(num(5, 2))),
                                    std::chrono::day(static_cast<unsigned>(num(8, 2)))};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days(ymd);
}

std::string date_text(std::chrono::sys_days d) {
    std::chrono::year_month_day ymd(d);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
    return buf;
}

// A filter compared for equality with a column: what the column can hold (change_set.cpp's
// bounds), so a value that could never match is named rather than answered with nothing.
struct TextFilter {
    const char* param;
    size_t max_bytes;
    const char* fragment;  // the condition, one bound value
};

struct KindSpec {
    SearchKind kind;
    const char* name;
    // SELECT ... FROM ... WHERE: columns 0..3 are hospital_id, record_key, data, suspect;
    // doctors add the hospital's name (4); slots too, and capacity - booked (5), the
    // doctor's name (6), date and start_time (7, 8: the sort key as the table holds it).
    const char* select;
    const char* text_alias;  // the table whose search_text q matches
    const char* text_table;  // its FTS5 table
    std::vector<TextFilter> filters;
    std::vector<const char*> sort;  // the unique sort key, in order: the cursor's fields
    const char* order;
    std::vector<const char*> params;  // every parameter the kind takes
};

const std::vector<KindSpec>& specs() {
    // Every table's row joins its hospital's state (always written with its rows) for
    // `suspect`; the joins on ref_hospitals and ref_doctors go by their UNIQUE(hospital_id,
    // record_key) index, one lookup per row.
    static const std::vector<KindSpec> s = {
        {SearchKind::Hospitals, "hospitals",
         "SELECT t.hospital_id, t.record_key, t.data, COALESCE(st.suspect, 0) FROM ref_hospitals t "
         "LEFT JOIN ref_hospital_state st ON st.hospital_id = t.hospital_id WHERE 1",
         "t", "ref_hospital_text",
         {{"region", 32, " AND t.region = ?"}, {"city", 64, " AND t.city = ?"}, {"level", 8, " AND t.level = ?"}},
         {"t.hospital_id"},
         " ORDER BY t.hospital_id",
         {"q", "limit", "cursor", "min_seq", "region", "city", "level"}},
        {SearchKind::Departments, "departments",
         "SELECT t.hospital_id, t.record_key, t.data, COALESCE(st.suspect, 0) FROM ref_departments t "
         "LEFT JOIN ref_hospital_state st ON st.hospital_id = t.hospital_id WHERE 1",
         "t", "ref_department_text",
         {{"hospital", kMaxKeyBytes, " AND t.hospital_id = ?"}},
         {"t.hospital_id", "t.record_key"},
         " ORDER BY t.hospital_id, t.record_key",
         {"q", "limit", "cursor", "min_seq", "hospital"}},
        {SearchKind::Doctors, "doctors",
         "SELECT t.hospital_id, t.record_key, t.data, COALESCE(st.suspect, 0), h.name FROM ref_doctors t "
         "LEFT JOIN ref_hospital_state st ON st.hospital_id = t.hospital_id "
         "LEFT JOIN ref_hospitals h ON h.hospital_id = t.hospital_id AND h.record_key = t.hospital_id WHERE 1",
         "t", "ref_doctor_text",
         {{"hospital", kMaxKeyBytes, " AND t.hospital_id = ?"},
          {"department", kMaxKeyBytes, " AND t.department_id = ?"},
          {"title", 64, " AND t.title = ?"}},
         {"t.hospital_id", "t.record_key"},
         " ORDER BY t.hospital_id, t.record_key",
         {"q", "limit", "cursor", "min_seq", "hospital", "department", "title"}},
        {SearchKind::Slots, "slots",
         "SELECT t.hospital_id, t.record_key, t.data, COALESCE(st.suspect, 0), h.name, "
         "t.capacity - t.booked, d.name, t.date, t.start_time FROM ref_slots t "
         "LEFT JOIN ref_hospital_state st ON st.hospital_id = t.hospital_id "
         "LEFT JOIN ref_hospitals h ON h.hospital_id = t.hospital_id AND h.record_key = t.hospital_id "
         "LEFT JOIN ref_doctors d ON d.hospital_id = t.hospital_id AND d.record_key = t.doctor_id "
         "WHERE t.date >= ? AND t.date <= ?",
         "d", "ref_doctor_text",
         {{"hospital", kMaxKeyBytes, " AND t.hospital_id = ?"},
          {"department", kMaxKeyBytes, " AND t.department_id = ?"},
          {"doctor", kMaxKeyBytes, " AND t.doctor_id = ?"}},
         {"t.date", "t.start_time", "t.hospital_id", "t.record_key"},
         " ORDER BY t.date, t.start_time, t.hospital_id, t.record_key",
         {"q", "limit", "cursor", "min_seq", "from", "to", "hospital", "department", "doctor", "half", "fee_min",
          "fee_max", "free"}},
    };
    return s;
}

const KindSpec& spec_of(SearchKind kind) {
    for (const auto& s : specs())
        if (s.kind == kind) return s;
    HISGATE_CHECK(false, "kind", static_cast<int>(kind));
    return specs().front();
}

// A cursor is "s1" + hex(payload) + 16 hex digits of the payload's digest, the payload the
// JSON array [kind, filter digest, sort key...]. Hex keeps it URL-safe without encoding.
constexpr std::string_view kCursorTag = "s1";
constexpr size_t kCursorDigestHex = 16;

std::string cursor_digest(std::string_view payload) {
    return sha256_hex(std::string("hisgate.search.cursor\n").append(payload)).substr(0, kCursorDigestHex);
}

std::string make_cursor(const KindSpec& spec, const std::string& filter_digest, const std::vector<std::string>& key) {
    nlohmann::json payload = nlohmann::json::array({spec.name, filter_digest});
    for (const auto& k : key) payload.push_back(k);
    const std::string text = payload.dump();
    return std::string(kCursorTag) + to_hex(text) + cursor_digest(text);
}

// The sort key a cursor resumes after, if it is one this kind made under these filters.
std::optional<std::vector<std::string>> read_cursor(const KindSpec& spec, const std::string& filter_digest,
                                                    const std::string& cursor) {
    if (cursor.size() > kMaxCursorBytes || cursor.size() < kCursorTag.size() + kCursorDigestHex ||
        cursor.compare(0, kCursorTag.size(), kCursorTag) != 0)
        return std::nullopt;
    const std::string_view body(cursor.data() + kCursorTag.size(), cursor.size() - kCursorTag.size() - kCursorDigestHex);
    auto payload = from_hex(body);
    if (!payload || cursor_digest(*payload) != cursor.substr(cursor.size() - kCursorDigestHex)) return std::nullopt;
    auto j = nlohmann::json::parse(*payload, nullptr, false);
    if (!j.is_array() || j.size() != 2 + spec.sort.size()) return std::nullopt;
    for (const auto& e : j)
        if (!e.is_string()) return std::nullopt;
    if (j[0] != spec.name || j[1] != filter_digest) return std::nullopt;
    std::vector<std::string> key;
    for (size_t i = 2; i < j.size(); ++i) key.push_back(j[i].get<std::string>());
    return key;
}

// What a cursor is bound to: the kind and every parameter that chooses rows (not limit,
// cursor or min_seq, which a client may change from page to page). Only parameters given
// count, so a default that moves (today, at midnight) does not void a cursor.
std::string filter_digest(const KindSpec& spec, const std::map<std::string, std::string>& params) {
    nlohmann::json canon = nlohmann::json::array({spec.name});
    for (const auto& [name, value] : params)
        if (name != "limit" && name != "cursor" && name != "min_seq") canon.push_back({name, value});
    return sha256_hex(canon.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).substr(0, 16);
}

// q as a LIKE pattern: lowercased as search_text() lowercases (Latin), and with `escape`
// the LIKE wildcards and the escape character itself made literal.
std::string like_pattern(const std::string& q, bool escape) {
    std::string out = "%";
    for (char c : q) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (escape && (c == '%' || c == '_' || c == '\\')) out += '\\';
        out += c;
    }
    return out + "%";
}

// q of one or two code points as a LIKE pattern over the spaced-out text
// (ReferenceTables::indexed_text): "<spacer>c<spacer>" or "c1<spacer>c2", three code
// points, so the trigram index takes it. q holds no control character (parse_search), so
// neither the spacer nor a newline.
std::string short_pattern(const std::string& q) {
    std::string lower = like_pattern(q, false);  // "%q%", Latin lowercased
    lower = lower.substr(1, lower.size() - 2);
    const char spacer = ReferenceTables::kTextSpacer;
    size_t first = 1;
    while (first < lower.size() && (static_cast<unsigned char>(lower[first]) & 0xc0) == 0x80) ++first;
    if (first >= lower.size()) return std::string("%") + spacer + lower + spacer + "%";  // one code point
    return "%" + lower.substr(0, first) + spacer + lower.substr(first) + "%";
}

// A LIKE pattern "%text%" (no wildcard inside) as an FTS5 phrase: "text", a double quote
// in it doubled.
std::string fts_phrase(const std::string& like) {
    std::string out = "\"";
    for (char c : std::string_view(like).substr(1, like.size() - 2)) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::optional<SearchKind> search_kind(std::string_view name) {
    for (const auto& s : specs())
        if (name == s.name) return s.kind;
    return std::nullopt;
}

const char* search_kind_name(SearchKind kind) { return spec_of(kind).name; }

const std::vector<const char*>& search_params(SearchKind kind) { return spec_of(kind).params; }

Result<SearchRequest> parse_search(SearchKind kind, const std::map<std::string, std::string>& params,
                                   std::string_view today) {
    const KindSpec& spec = spec_of(kind);
    auto today_days = parse_date(today);
    if (!today_days) return make_error(ErrorClass::Internal, "search.today", "today: expected a date YYYY-MM-DD");
    for (const auto& entry : params) {
        const std::string& name = entry.first;  // clang 14 cannot capture a structured binding
        if (std::find_if(spec.params.begin(), spec.params.end(), [&](const char* p) { return name == p; }) ==
            spec.params.end()) {
            std::string known;
            for (const char* p : spec.params) known += (known.empty() ? "" : ", ") + std::string(p);
            return bad(name, std::string("one of ") + known + " (searching " + spec.name + ")", name);
        }
    }
    auto given = [&](const char* name) -> const std::string* {
        auto it = params.find(name);
        return it == params.end() ? nullptr : &it->second;
    };

    SearchRequest r;
    r.kind = kind;
    if (auto q = given("q")) {
        if (q->empty() || q->size() > kSearchMaxQBytes || utf8_code_points(*q) < 0)
            return bad("q", "1 to " + std::to_string(kSearchMaxQBytes) + " bytes of UTF-8 text without control characters",
                       *q);
        r.q = *q;
    }
    if (auto v = given("limit")) {
        auto n = integer_in(*v, kSearchMaxLimit);
        if (!n || *n < 1) return bad("limit", "an integer from 1 to " + std::to_string(kSearchMaxLimit), *v);
        r.limit = static_cast<int>(*n);
    }
    if (auto v = given("min_seq")) {
        auto n = integer_in(*v, kMaxSeq);
        if (!n) return bad("min_seq", "an integer from 0 to 2^53", *v);
        r.min_seq = *n;
    }
    for (const auto& f : spec.filters) {
        auto v = given(f.param);
        if (!v) continue;
        if (v->empty() || v->size() > f.max_bytes || utf8_code_points(*v) < 0)
            return bad(f.param, "1 to " + std::to_string(f.max_bytes) + " bytes of UTF-8 text without control characters",
                       *v);
        r.filters[f.param] = *v;
    }
    if (kind == SearchKind::Slots) {
        std::chrono::sys_days from = *today_days;
        if (auto v = given("from")) {
            auto d = parse_date(*v);
            if (!d) return bad("from", "a date YYYY-MM-DD", *v);
            from = *d;
        }
        std::chrono::sys_days to = from + std::chrono::days(kSearchDefaultDays - 1);
        if (auto v = given("to")) {
            auto d = parse_date(*v);
            if (!d) return bad("to", "a date YYYY-MM-DD", *v);
            if (*d < from) return bad("to", "a date YYYY-MM-DD on or after from (" + date_text(from) + ")", *v);
            if (*d - from >= std::chrono::days(kSearchMaxDays))
                return bad("to", "a date at most " + std::to_string(kSearchMaxDays) + " days from " + date_text(from) +
                                     ", both included",
                           *v);
            to = *d;
        }
        r.from = date_text(from);
        r.to = date_text(to);
        if (auto v = given("half")) {
            if (*v != "AM" && *v != "PM") return bad("half", "AM or PM", *v);
            r.filters["half"] = *v;
        }
        for (const char* name : {"fee_min", "fee_max"}) {
            auto v = given(name);
            if (!v) continue;
            auto n = integer_in(*v, kMaxFeeCents);
            if (!n) return bad(name, "an integer number of cents from 0 to " + std::to_string(kMaxFeeCents), *v);
            (std::string_view(name) == "fee_min" ? r.fee_min : r.fee_max) = *n;
        }
        if (r.fee_min && r.fee_max && *r.fee_max < *r.fee_min)
            return bad("fee_max", "at least fee_min (" + std::to_string(*r.fee_min) + ")", *given("fee_max"));
        if (auto v = given("free")) {
            if (*v != "true" && *v != "false") return bad("free", "true or false", *v);
            r.free_only = *v == "true";
        }
    }
    // Last, as it needs the rest: the cursor must be this search's own.
    r.filter_digest = filter_digest(spec, params);
    if (auto v = given("cursor")) {
        auto key = read_cursor(spec, r.filter_digest, *v);
        if (!key) return bad("cursor", "the \"next\" of an earlier page of this same search", *v);
        r.after = std::move(*key);
    }
    return r;
}

namespace {

// The statement for `r` with its values bound.
Result<sql::Statement> prepare_search(sql::Db& db, const SearchRequest& r, const char* prefix) {
    const KindSpec& spec = spec_of(r.kind);
    // The SQL is fixed fragments chosen by which parameters are present; every value is a
    // bound `?`, in the order the fragments are appended (binds, below, follows the same
    // order). So at most 2^(filters) texts per kind exist: prepare_cached keeps them.
    std::string sql = spec.select;
    std::vector<std::string> texts;
    std::vector<int64_t> ints;
    struct Bind {
        bool integer;
        size_t index;
    };
    std::vector<Bind> binds;
    auto text_value = [&](std::string v) {
        texts.push_back(std::move(v));
        binds.push_back({false, texts.size() - 1});
    };
    auto int_value = [&](int64_t v) {
        ints.push_back(v);
        binds.push_back({true, ints.size() - 1});
    };
    if (r.kind == SearchKind::Slots) {
        text_value(r.from);
        text_value(r.to);
    }
    for (const auto& f : spec.filters)
        if (auto it = r.filters.find(f.param); it != r.filters.end()) {
            sql += f.fragment;
            text_value(it->second);
        }
    if (r.kind == SearchKind::Slots) {
        if (auto it = r.filters.find("half"); it != r.filters.end()) {
            sql += " AND t.half = ?";
            text_value(it->second);
        }
        if (r.fee_min) {
            sql += " AND t.fee_cents >= ?";
            int_value(*r.fee_min);
        }
        if (r.fee_max) {
            sql += " AND t.fee_cents <= ?";
            int_value(*r.fee_max);
        }
        if (r.free_only) sql += " AND t.booked < t.capacity";
    }
    if (!r.q.empty()) {
        // See search_query.h, "Text": the FTS5 trigram index for a pattern it answers
        // rightly and is handed (no ESCAPE clause, so no % or _ to escape); one or two
        // code points as their spaced-out trigram (reference_tables.h, indexed_text).
        const bool wildcards = r.q.find_first_of("%_") != std::string::npos;
        const int64_t points = utf8_code_points(r.q);
        std::string match;  // the condition on the text's row_id, or "" for the base table's LIKE
        if (!wildcards) {
            // MATCH of the text as one phrase: with the trigram tokenizer, the rows holding it
            // as a substring, as LIKE '%text%' finds them, but from the index's positions
            // alone; the LIKE re-read and re-matched every candidate row's text (a name
            // matching 6,000 doctors: 15 ms against 2 ms).
            match = std::string("row_id IN (SELECT rowid FROM ") + spec.text_table + " WHERE " + spec.text_table +
                    " MATCH ?)";
            text_value(fts_phrase(points >= 3 ? like_pattern(r.q, false) : short_pattern(r.q)));
        } else {
            match = "search_text LIKE ? ESCAPE '\\'";
            text_value(like_pattern(r.q, true));
        }
        if (r.kind == SearchKind::Slots) {
            // A slot's q is its doctor's text. Matched on the joined doctor (d), it would be
            // tested slot by slot along the date index: every slot in the range read for a
            // name that has a few (a full scan of the window at national size). So the
            // doctors come first, and their slots by ref_slots_by_doctor; a slot whose doctor
            // is not in ref_doctors matches no q either way.
            sql += " AND (t.hospital_id, t.doctor_id) IN (SELECT hospital_id, record_key FROM ref_doctors WHERE " + match + ")";
        } else {
            sql += std::string(" AND ") + spec.text_alias + "." + match;
        }
    }
    if (!r.after.empty()) {
        HISGATE_CHECK(r.after.size() == spec.sort.size(), "cursor_fields", r.after.size());  // read_cursor's
        std::string cols, marks;
        for (const char* c : spec.sort) {
            cols += std::string(cols.empty() ? "" : ", ") + c;
            marks += marks.empty() ? "?" : ", ?";
        }
        sql += " AND (" + cols + ") > (" + marks + ")";
        for (const auto& k : r.after) text_value(k);
    }
    sql += spec.order;
    sql += " LIMIT ?";
    int_value(r.limit + 1);  // one more tells whether another page follows

    auto s = db.prepare_cached(prefix + sql);
    if (!s) return s.error();
    int i = 1;
    for (const auto& b : binds) {
        if (b.integer) s->bind(i++, ints[b.index]);
        else s->bind(i++, texts[b.index]);
    }
    return s;
}

}  // namespace

Result<std::vector<std::string>> explain_search(sql::Db& db, const SearchRequest& r) {
    auto s = prepare_search(db, r, "EXPLAIN QUERY PLAN ");
    if (!s) return s.error();
    std::vector<std::string> lines;
    while (s->step()) lines.push_back(s->text(3));  // id, parent, notused, detail
    if (s->error()) return *s->error();
    return lines;
}

Result<nlohmann::json> run_search(sql::Db& db, const SearchRequest& r) {
    const KindSpec& spec = spec_of(r.kind);
    auto s = prepare_search(db, r, "");
    if (!s) return s.error();
    nlohmann::json items = nlohmann::json::array();
    std::vector<std::string> last_key;
    bool more = false;
    while (s->step()) {
        if (static_cast<int>(items.size()) == r.limit) {
            more = true;
            break;
        }
        auto item = nlohmann::json::parse(s->text(2), nullptr, false);
        if (!item.is_object())
            return make_error(ErrorClass::Internal, "search.storage",
                              std::string(spec.name) + ": a row's data is not a JSON object");
        const std::string hospital_id = s->text(0), key = s->text(1);
        item["hospitalId"] = hospital_id;
        item["suspect"] = s->integer(3) != 0;
        if (r.kind == SearchKind::Doctors || r.kind == SearchKind::Slots)
            item["hospitalName"] = s->is_null(4) ? nlohmann::json() : nlohmann::json(s->text(4));
        if (r.kind == SearchKind::Slots) {
            item["free"] = std::max<int64_t>(0, s->integer(5));
            item["doctorName"] = s->is_null(6) ? nlohmann::json() : nlohmann::json(s->text(6));
        }
        if (r.kind == SearchKind::Slots) {
            last_key = {s->text(7), s->text(8), hospital_id, key};  // the sort key as the table holds it
        } else if (r.kind == SearchKind::Hospitals) {
            last_key = {hospital_id};
        } else {
            last_key = {hospital_id, key};
        }
        items.push_back(std::move(item));
    }
    if (s->error()) return *s->error();
    nlohmann::json out = {{"items", std::move(items)}, {"next", nullptr}};
    if (more) out["next"] = make_cursor(spec, r.filter_digest, last_key);
    return out;
}

}  // namespace hisgate::controlplane::public_partition
