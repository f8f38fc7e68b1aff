// Patient search (issue 14 item 3) on the primary's own file, built by change sets through
// open_sqlite_public_primary as the agents' would be: each filter narrows, text is found by
// one character, two, or three and more (the FTS5 path), wildcards in q are literal, pages
// resume by key (every row once, in order, whatever is inserted between pages), cursors and
// parameters are checked, and a hospital with a gap is flagged. One case over HTTP.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <tuple>

#include "common/http_server.h"
#include "controlplane/public_partition/search_api.h"
#include "controlplane/public_partition/search_query.h"
#include "primary_fixture.h"

using namespace hisgate;
using namespace hisgate::controlplane::public_partition;
using namespace hisgate::test::public_partition;

namespace {

constexpr const char* kToday = "2026-12-07";

nlohmann::json upsert(const char* entity, const std::string& key, nlohmann::json data) {
    return {{"entity", entity}, {"op", "upsert"}, {"key", key}, {"data", std::move(data)}};
}

nlohmann::json hospital_rec(const std::string& id, const std::string& name, const std::string& region,
                            const std::string& city, const std::string& level) {
    return upsert("hospital", id, {{"hospitalId", id}, {"name", name}, {"region", region}, {"city", city}, {"level", level}});
}

nlohmann::json department_rec(const std::string& id, const std::string& name) {
    return upsert("department", id, {{"departmentId", id}, {"name", name}});
}

nlohmann::json doctor_rec(const std::string& id, const std::string& dep, const std::string& name,
                          const std::string& title = "主治医师") {
    return upsert("doctor", id, {{"doctorId", id}, {"departmentId", dep}, {"name", name}, {"title", title}});
}

struct SlotSpec {
    std::string id, doctor = "D1", dep = "DEP1", date = kToday, start = "09:00", half = "AM";
    int capacity = 4, booked = 0;
    int64_t fee = 2500;
};

nlohmann::json slot_rec(const SlotSpec& s) {
    return upsert("slot", s.id,
                  {{"slotId", s.id}, {"doctorId", s.doctor}, {"departmentId", s.dep}, {"date", s.date}, {"start", s.start},
                   {"end", ""}, {"half", s.half}, {"capacity", s.capacity}, {"booked", s.booked}, {"feeCents", s.fee}});
}

// A primary with change sets applied per hospital in order, and a connection of the
// search's own to its file (as a benchmark against the primary's file would open it).
struct Searchable {
    Primary p;
    std::map<std::string, int64_t> seq;
    std::optional<sql::Db> db;

    void add(const std::string& hospital, nlohmann::json changes) {
        p.apply(change_set(hospital, ++seq[hospital], std::move(changes)));
    }
    sql::Db& conn() {
        if (!db) {
            auto opened = sql::Db::open(p.dir + "/public.db");
            REQUIRE(opened.ok());
            db.emplace(std::move(opened.value()));
        }
        return *db;
    }
    Result<nlohmann::json> search(SearchKind kind, std::map<std::string, std::string> params) {
        auto r = parse_search(kind, params, kToday);
        if (!r) return r.error();
        return run_search(conn(), *r);
    }
    // The items' keys (hospitalId/id field), in order; REQUIREs the search succeeds.
    std::vector<std::string> keys(SearchKind kind, std::map<std::string, std::string> params) {
        auto page = search(kind, std::move(params));
        if (!page) FAIL(page.error().describe());
        static const std::map<SearchKind, const char*> id_field = {{SearchKind::Hospitals, "hospitalId"},
                                                                   {SearchKind::Departments, "departmentId"},
                                                                   {SearchKind::Doctors, "doctorId"},
                                                                   {SearchKind::Slots, "slotId"}};
        std::vector<std::string> out;
        for (const auto& item : (*page)["items"]) out.push_back(item[id_field.at(kind)].get<std::string>());
        return out;
    }
};

using Keys = std::vector<std::string>;

// Two hospitals in two cities; H001's doctors are Chinese names, H002's Latin ones.
void fill(Searchable& s) {
    s.add("H001", {hospital_rec("H001", "协和医院", "BJ", "北京", "3A"), department_rec("DEP1", "心内科"),
                   department_rec("DEP2", "骨科"), doctor_rec("D1", "DEP1", "王芳", "主任医师"),
                   doctor_rec("D2", "DEP1", "李娜"), doctor_rec("D3", "DEP2", "张伟", "主任医师"),
                   slot_rec({.id = "S1", .doctor = "D1", .start = "08:00"}),
                   slot_rec({.id = "S2", .doctor = "D1", .start = "14:00", .half = "PM", .fee = 5000}),
                   slot_rec({.id = "S3", .doctor = "D2", .date = "2026-12-08", .capacity = 2, .booked = 2}),
                   slot_rec({.id = "S4", .doctor = "D3", .dep = "DEP2", .date = "2026-12-20"})});
    s.add("H002", {hospital_rec("H002", "Ruijin Hospital", "SH", "Shanghai", "3A"), department_rec("DEP1", "Cardiology"),
                   doctor_rec("D1", "DEP1", "Li Wei"), doctor_rec("D2", "DEP1", "WANG Fang Jr"),
                   doctor_rec("D3", "DEP1", "100% Care"), doctor_rec("D4", "DEP1", "A_B Clinic"),
                   doctor_rec("D5", "DEP1", "AxB Clinic"), doctor_rec("D6", "DEP1", "Back\\slash"),
                   slot_rec({.id = "S1", .doctor = "D1", .start = "10:00", .fee = 1000})});
    s.add("H003", {hospital_rec("H003", "Small Clinic", "SH", "Suzhou", "1B")});
}

}  // namespace

TEST_CASE("search: each filter narrows hospitals, departments, doctors and slots") {
    Searchable s;
    fill(s);
    CHECK(s.keys(SearchKind::Hospitals, {}) == Keys{"H001", "H002", "H003"});
    CHECK(s.keys(SearchKind::Hospitals, {{"region", "SH"}}) == Keys{"H002", "H003"});
    CHECK(s.keys(SearchKind::Hospitals, {{"region", "SH"}, {"level", "3A"}}) == Keys{"H002"});
    CHECK(s.keys(SearchKind::Hospitals, {{"city", "北京"}}) == Keys{"H001"});
    CHECK(s.keys(SearchKind::Hospitals, {{"city", "Nowhere"}}).empty());

    CHECK(s.keys(SearchKind::Departments, {}) == Keys{"DEP1", "DEP2", "DEP1"});  // (hospital, key) order
    CHECK(s.keys(SearchKind::Departments, {{"hospital", "H001"}}) == Keys{"DEP1", "DEP2"});

    CHECK(s.keys(SearchKind::Doctors, {{"hospital", "H001"}}) == Keys{"D1", "D2", "D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"hospital", "H001"}, {"department", "DEP2"}}) == Keys{"D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"title", "主任医师"}}) == Keys{"D1", "D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"department", "DEP1"}}).size() == 8);  // DEP1 of both hospitals

    // Slots: today .. today + 6 by default, free ones only.
    CHECK(s.keys(SearchKind::Slots, {}) == Keys{"S1", "S1", "S2"});  // 08:00 H001, 10:00 H002, 14:00
    CHECK(s.keys(SearchKind::Slots, {{"free", "false"}}) == Keys{"S1", "S1", "S2", "S3"});
    CHECK(s.keys(SearchKind::Slots, {{"from", "2026-12-15"}, {"to", "2026-12-31"}}) == Keys{"S4"});
    CHECK(s.keys(SearchKind::Slots, {{"from", "2026-12-08"}, {"free", "false"}}) == Keys{"S3"});
    CHECK(s.keys(SearchKind::Slots, {{"hospital", "H002"}}) == Keys{"S1"});
    CHECK(s.keys(SearchKind::Slots, {{"hospital", "H001"}, {"doctor", "D1"}}) == Keys{"S1", "S2"});
    CHECK(s.keys(SearchKind::Slots, {{"department", "DEP2"}, {"to", "2026-12-31"}}) == Keys{"S4"});
    CHECK(s.keys(SearchKind::Slots, {{"half", "PM"}}) == Keys{"S2"});
    CHECK(s.keys(SearchKind::Slots, {{"fee_min", "2500"}}) == Keys{"S1", "S2"});
    CHECK(s.keys(SearchKind::Slots, {{"fee_max", "2500"}}) == Keys{"S1", "S1"});
    CHECK(s.keys(SearchKind::Slots, {{"fee_min", "1000"}, {"fee_max", "1000"}}) == Keys{"S1"});

    // What an item carries besides its data.
    auto page = s.search(SearchKind::Slots, {{"hospital", "H001"}, {"free", "false"}});
    REQUIRE(page.ok());
    const auto& first = (*page)["items"][0];
    CHECK(first["hospitalId"] == "H001");
    CHECK(first["suspect"] == false);
    CHECK(first["free"] == 4);
    CHECK(first["doctorName"] == "王芳");
    CHECK(first["hospitalName"] == "协和医院");
    CHECK((*page)["items"][2]["free"] == 0);  // S3, full
    CHECK((*page)["next"].is_null());
    auto doctors = s.search(SearchKind::Doctors, {{"hospital", "H002"}, {"limit", "1"}});
    REQUIRE(doctors.ok());
    CHECK((*doctors)["items"][0]["hospitalName"] == "Ruijin Hospital");
    CHECK((*doctors)["items"][0]["name"] == "Li Wei");
}

TEST_CASE("search: a Chinese name is found by one character, two, and three or more, a Latin one in any case") {
    Searchable s;
    fill(s);
    for (const char* q : {"王", "芳", "王芳", "王芳 主", "主任医", "芳 主任医师"}) {
        INFO(q);
        auto found = s.keys(SearchKind::Doctors, {{"q", q}, {"hospital", "H001"}});
        CHECK(std::find(found.begin(), found.end(), "D1") != found.end());
        CHECK(std::find(found.begin(), found.end(), "D2") == found.end());  // 李娜, 主治医师
    }
    CHECK(s.keys(SearchKind::Doctors, {{"q", "主任医"}, {"hospital", "H001"}}) == Keys{"D1", "D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "张"}}) == Keys{"D3"});
    // By pinyin (search_text carries it), in full or by initials, and in any case.
    for (const char* q : {"wangfang", "WangFang", "wf"}) {
        INFO(q);
        CHECK(s.keys(SearchKind::Doctors, {{"q", q}, {"hospital", "H001"}}) == Keys{"D1"});
    }
    CHECK(s.keys(SearchKind::Doctors, {{"q", "赵"}}).empty());
    CHECK(s.keys(SearchKind::Doctors, {{"q", "王芳芳"}}).empty());
    for (const char* q : {"LI WEI", "li wei", "Wei", "wEi", "WE", "We"}) {  // two letters: the base table
        INFO(q);
        CHECK(s.keys(SearchKind::Doctors, {{"q", q}, {"hospital", "H002"}}) == Keys{"D1"});
    }
    CHECK(s.keys(SearchKind::Doctors, {{"q", "wang fang"}, {"hospital", "H002"}}) == Keys{"D2"});
    // Hospitals by name or city, departments by name, slots by their doctor's name.
    CHECK(s.keys(SearchKind::Hospitals, {{"q", "协和"}}) == Keys{"H001"});
    CHECK(s.keys(SearchKind::Hospitals, {{"q", "shanghai"}}) == Keys{"H002"});
    CHECK(s.keys(SearchKind::Hospitals, {{"q", "HOSPITAL"}}) == Keys{"H002"});
    CHECK(s.keys(SearchKind::Departments, {{"q", "骨"}}) == Keys{"DEP2"});
    CHECK(s.keys(SearchKind::Departments, {{"q", "cardio"}}) == Keys{"DEP1"});
    CHECK(s.keys(SearchKind::Slots, {{"q", "芳"}}) == Keys{"S1", "S2"});
    CHECK(s.keys(SearchKind::Slots, {{"q", "li wei"}}) == Keys{"S1"});
}

TEST_CASE("search: q without wildcards uses the trigram index, one or two code points by the spaced-out text; wildcard ones the base table") {
    Searchable s;
    fill(s);
    auto plan = [&](SearchKind kind, const char* q) {
        auto r = parse_search(kind, {{"q", q}}, kToday);
        REQUIRE(r.ok());
        auto lines = explain_search(s.conn(), *r);
        REQUIRE(lines.ok());
        std::string all;
        for (const auto& l : *lines) all += l + "\n";
        return all;
    };
    for (auto kind : {SearchKind::Hospitals, SearchKind::Departments, SearchKind::Doctors, SearchKind::Slots}) {
        INFO(search_kind_name(kind));
        CHECK(plan(kind, "主任医").find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
        CHECK(plan(kind, "wang").find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
        CHECK(plan(kind, "王芳").find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
        CHECK(plan(kind, "王").find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
        CHECK(plan(kind, "wf").find("VIRTUAL TABLE INDEX 0:M") != std::string::npos);
        CHECK(plan(kind, "a_b").find("VIRTUAL TABLE") == std::string::npos);  // with ESCAPE, FTS5 would scan
    }
}

TEST_CASE("search: slots by date walk their whole sort order, slots by q go by their doctors first") {
    // What the public partition benchmark found at national size (docs/benchmarks.md): on
    // (date, start_time) alone every slot of a date and time was read and sorted for a
    // page, and a q tested slot by slot read every slot of the window.
    Searchable s;
    fill(s);
    auto plan = [&](std::map<std::string, std::string> params) {
        auto r = parse_search(SearchKind::Slots, params, kToday);
        REQUIRE(r.ok());
        auto lines = explain_search(s.conn(), *r);
        REQUIRE(lines.ok());
        std::string all;
        for (const auto& l : *lines) all += l + "\n";
        return all;
    };
    for (const auto& params : std::vector<std::map<std::string, std::string>>{{}, {{"department", "DEP1"}}, {{"half", "AM"}}}) {
        auto p = plan(params);
        INFO(p);
        CHECK(p.find("USING INDEX ref_slots_by_time") != std::string::npos);
        CHECK(p.find("TEMP B-TREE") == std::string::npos);
    }
    {
        auto p = plan({{"hospital", "H001"}, {"department", "DEP1"}});
        INFO(p);
        CHECK(p.find("USING INDEX ref_slots_by_department (hospital_id=? AND department_id=?") != std::string::npos);
        CHECK(p.find("TEMP B-TREE") == std::string::npos);
    }
    for (const char* q : {"王芳", "wangfang", "芳"}) {
        auto p = plan({{"q", q}});
        INFO(q << "\n" << p);
        CHECK(p.find("ref_slots_by_doctor (hospital_id=? AND doctor_id=?") != std::string::npos);
    }
}

TEST_CASE("search: a file whose text index predates the spaced-out form is rewritten once, and finds short q again") {
    Searchable s;
    fill(s);
    // The form before: the FTS tables held search_text alone, and ref_meta no text_form.
    for (const char* t : {"ref_hospital_text", "ref_department_text", "ref_doctor_text"}) {
        std::string base = std::string(t) == "ref_hospital_text"     ? "ref_hospitals"
                           : std::string(t) == "ref_department_text" ? "ref_departments"
                                                                     : "ref_doctors";
        REQUIRE(s.conn().exec(std::string("DELETE FROM ") + t).ok());
        REQUIRE(s.conn().exec(std::string("INSERT INTO ") + t + "(rowid, text) SELECT row_id, search_text FROM " + base).ok());
    }
    REQUIRE(s.conn().exec("DELETE FROM ref_meta WHERE key = 'text_form'").ok());
    CHECK(s.keys(SearchKind::Doctors, {{"q", "王芳"}}).empty());  // what an old file answers with the new query
    CHECK(s.keys(SearchKind::Doctors, {{"q", "王芳 主"}}) == Keys{"D1"});  // three or more: as before
    REQUIRE(ReferenceTables(s.conn()).upgrade_text_index().ok());
    CHECK(s.keys(SearchKind::Doctors, {{"q", "王芳"}, {"hospital", "H001"}}) == Keys{"D1"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "芳"}}) == Keys{"D1"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "wf"}, {"hospital", "H001"}}) == Keys{"D1"});
    CHECK(s.keys(SearchKind::Departments, {{"q", "骨"}}) == Keys{"DEP2"});
    CHECK(s.keys(SearchKind::Hospitals, {{"q", "协和"}}) == Keys{"H001"});
    REQUIRE(ReferenceTables(s.conn()).upgrade_text_index().ok());  // again: nothing to do
    CHECK(s.keys(SearchKind::Doctors, {{"q", "王芳 主"}}) == Keys{"D1"});
    // The text checksum is of the rows' data, not of the index: the position still verifies.
    auto at = ReferenceTables(s.conn()).position();
    auto rows = ReferenceTables(s.conn()).recompute_checksum();
    REQUIRE(at.ok());
    REQUIRE(rows.ok());
    CHECK(at->checksum == *rows);
}

TEST_CASE("search: LIKE wildcards and the escape character in q are literal") {
    Searchable s;
    fill(s);
    CHECK(s.keys(SearchKind::Doctors, {{"q", "%"}}) == Keys{"D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "0% c"}}) == Keys{"D3"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "_"}}) == Keys{"D4"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "a_b"}}) == Keys{"D4"});  // not AxB
    CHECK(s.keys(SearchKind::Doctors, {{"q", "\\"}}) == Keys{"D6"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "k\\s"}}) == Keys{"D6"});
    CHECK(s.keys(SearchKind::Doctors, {{"q", "%%"}}).empty());
    CHECK(s.keys(SearchKind::Hospitals, {{"q", "%"}}).empty());
    // A double quote is literal too (q is one FTS5 phrase, its quotes doubled).
    s.add("H003", {hospital_rec("H003", "Quote", "SH", "Shanghai", "2A"), doctor_rec("D9", "DEP1", "Dr \"Q\" House")});
    for (const char* q : {"\"", "\"q", "\"q\"", "r \"q\" h", "\"\""}) {
        INFO(q);
        CHECK(s.keys(SearchKind::Doctors, {{"q", q}}) == (std::string(q) == "\"\"" ? Keys{} : Keys{"D9"}));
    }
}

TEST_CASE("search: 250 slots in pages of 7 come each exactly once, in order, while slots are inserted between pages") {
    Searchable s;
    s.add("H001", {hospital_rec("H001", "协和医院", "BJ", "北京", "3A"), doctor_rec("D1", "DEP1", "王芳")});
    s.add("H002", {hospital_rec("H002", "Ruijin", "SH", "Shanghai", "3A"), doctor_rec("D1", "DEP1", "Li Wei")});
    // Many ties on (date, start): the order's last terms (hospital, key) decide.
    using Key = std::tuple<std::string, std::string, std::string, std::string>;
    std::vector<Key> expected;
    for (const char* h : {"H001", "H002"}) {
        nlohmann::json changes = nlohmann::json::array();
        for (int i = 0; i < 125; ++i) {
            SlotSpec sp{.id = "S" + std::to_string(i)};
            sp.date = "2026-12-0" + std::to_string(7 + i % 3);
            sp.start = (i % 5 == 0 ? "08:00" : i % 5 == 1 ? "09:30" : "13:00");
            expected.emplace_back(sp.date, sp.start, h, sp.id);
            changes.push_back(slot_rec(sp));
        }
        s.add(h, std::move(changes));
    }
    std::sort(expected.begin(), expected.end());
    std::vector<Key> seen;
    std::string cursor;
    int pages = 0;
    while (true) {
        std::map<std::string, std::string> params = {{"limit", "7"}};
        if (!cursor.empty()) params["cursor"] = cursor;
        auto page = s.search(SearchKind::Slots, params);
        REQUIRE(page.ok());
        REQUIRE((*page)["items"].size() <= 7);
        for (const auto& it : (*page)["items"])
            seen.emplace_back(it["date"].get<std::string>(), it["start"].get<std::string>(),
                              it["hospitalId"].get<std::string>(), it["slotId"].get<std::string>());
        ++pages;
        if ((*page)["next"].is_null()) break;
        REQUIRE((*page)["items"].size() == 7);
        cursor = (*page)["next"].get<std::string>();
        if (pages == 5) {
            // One slot sorting before the page just read (never shown: it is behind the
            // reader), one after it (shown once, in its place).
            s.add("H001", {slot_rec({.id = "NEW-EARLY", .date = "2026-12-07", .start = "07:00"}),
                           slot_rec({.id = "NEW-LATE", .date = "2026-12-09", .start = "13:00"})});
            expected.emplace_back("2026-12-09", "13:00", "H001", "NEW-LATE");
            std::sort(expected.begin(), expected.end());
        }
        REQUIRE(pages < 100);
    }
    CHECK(seen.size() == 251);
    CHECK(seen == expected);
    CHECK(pages == 36);  // 251 / 7, rounded up
}

TEST_CASE("search: a cursor that is damaged, another kind's or another search's is refused as bad_param cursor") {
    Searchable s;
    fill(s);
    auto page = s.search(SearchKind::Doctors, {{"limit", "2"}});
    REQUIRE(page.ok());
    REQUIRE((*page)["next"].is_string());
    const std::string cursor = (*page)["next"];
    auto next = s.search(SearchKind::Doctors, {{"limit", "2"}, {"cursor", cursor}});
    REQUIRE(next.ok());
    CHECK((*next)["items"].size() == 2);
    // Another page size is the same search.
    CHECK(s.search(SearchKind::Doctors, {{"limit", "50"}, {"cursor", cursor}}).ok());

    auto refused = [&](SearchKind kind, std::map<std::string, std::string> params) {
        auto r = parse_search(kind, params, kToday);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == kSearchBadParam);
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK(r.error().message.find("query parameter cursor: expected") != std::string::npos);
    };
    std::string flipped = cursor;
    flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
    refused(SearchKind::Doctors, {{"cursor", flipped}});
    std::string last_flipped = cursor;
    last_flipped.back() = last_flipped.back() == '0' ? '1' : '0';
    refused(SearchKind::Doctors, {{"cursor", last_flipped}});
    refused(SearchKind::Doctors, {{"cursor", cursor.substr(0, cursor.size() - 2)}});
    refused(SearchKind::Doctors, {{"cursor", "garbage"}});
    refused(SearchKind::Doctors, {{"cursor", ""}});
    refused(SearchKind::Departments, {{"cursor", cursor}});                    // another kind's
    refused(SearchKind::Doctors, {{"cursor", cursor}, {"hospital", "H001"}});  // another search's
}

TEST_CASE("search: every bad parameter is refused, named, before any other work") {
    struct Case {
        SearchKind kind;
        std::map<std::string, std::string> params;
        const char* named;
    };
    const std::string long_q(65, 'a');
    const std::vector<Case> cases = {
        {SearchKind::Hospitals, {{"nope", "1"}}, "nope"},
        {SearchKind::Hospitals, {{"hospital", "H001"}}, "hospital"},  // not a hospitals parameter
        {SearchKind::Slots, {{"title", "x"}}, "title"},
        {SearchKind::Doctors, {{"q", ""}}, "q"},
        {SearchKind::Doctors, {{"q", long_q}}, "q"},
        {SearchKind::Doctors, {{"q", "\xe7\x8e"}}, "q"},        // a cut UTF-8 sequence
        {SearchKind::Doctors, {{"q", "\xc0\xaf"}}, "q"},        // overlong
        {SearchKind::Doctors, {{"q", "a\x01"}}, "q"},           // a control character
        {SearchKind::Doctors, {{"limit", "0"}}, "limit"},
        {SearchKind::Doctors, {{"limit", "101"}}, "limit"},
        {SearchKind::Doctors, {{"limit", "-1"}}, "limit"},
        {SearchKind::Doctors, {{"limit", "ten"}}, "limit"},
        {SearchKind::Doctors, {{"min_seq", "-1"}}, "min_seq"},
        {SearchKind::Doctors, {{"min_seq", "1e3"}}, "min_seq"},
        {SearchKind::Hospitals, {{"region", ""}}, "region"},
        {SearchKind::Hospitals, {{"level", "123456789"}}, "level"},
        {SearchKind::Hospitals, {{"city", std::string(65, 'c')}}, "city"},
        {SearchKind::Departments, {{"hospital", std::string(129, 'h')}}, "hospital"},
        {SearchKind::Doctors, {{"department", "\xff"}}, "department"},
        {SearchKind::Doctors, {{"title", ""}}, "title"},
        {SearchKind::Slots, {{"from", "2026-13-01"}}, "from"},
        {SearchKind::Slots, {{"from", "2026-02-30"}}, "from"},
        {SearchKind::Slots, {{"from", "7 Dec"}}, "from"},
        {SearchKind::Slots, {{"to", "2026-12-06"}}, "to"},                                // before today
        {SearchKind::Slots, {{"from", "2026-12-01"}, {"to", "2027-01-01"}}, "to"},        // 32 days
        {SearchKind::Slots, {{"to", "20261210"}}, "to"},
        {SearchKind::Slots, {{"doctor", ""}}, "doctor"},
        {SearchKind::Slots, {{"half", "am"}}, "half"},
        {SearchKind::Slots, {{"fee_min", "-5"}}, "fee_min"},
        {SearchKind::Slots, {{"fee_max", "2.50"}}, "fee_max"},
        {SearchKind::Slots, {{"fee_max", "100000000001"}}, "fee_max"},
        {SearchKind::Slots, {{"fee_min", "500"}, {"fee_max", "100"}}, "fee_max"},
        {SearchKind::Slots, {{"free", "yes"}}, "free"},
        {SearchKind::Slots, {{"cursor", "s1"}}, "cursor"},
    };
    for (const auto& c : cases) {
        INFO(search_kind_name(c.kind) << " " << nlohmann::json(c.params).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        auto r = parse_search(c.kind, c.params, kToday);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == kSearchBadParam);
        CHECK(r.error().message.find(std::string("query parameter ") + c.named + ": expected") != std::string::npos);
    }
    auto from = parse_search(SearchKind::Slots, {{"from", "x"}}, kToday);
    REQUIRE_FALSE(from.ok());
    CHECK(from.error().message.find("from: expected a date YYYY-MM-DD") != std::string::npos);
    // The bounds themselves are admitted, and the window's defaults are today .. today + 6.
    auto edge = parse_search(SearchKind::Slots,
                             {{"from", "2026-12-01"}, {"to", "2026-12-31"}, {"limit", "100"}, {"min_seq", "0"},
                              {"fee_min", "0"}, {"fee_max", "0"}, {"q", std::string(64, 'a')}, {"half", "PM"}},
                             kToday);
    REQUIRE(edge.ok());
    CHECK(edge->limit == 100);
    CHECK(edge->min_seq == 0);
    auto defaults = parse_search(SearchKind::Slots, {}, kToday);
    REQUIRE(defaults.ok());
    CHECK(defaults->from == "2026-12-07");
    CHECK(defaults->to == "2026-12-13");
    CHECK(defaults->limit == kSearchDefaultLimit);
    CHECK(defaults->free_only);
    CHECK_FALSE(defaults->min_seq.has_value());
    auto leap = parse_search(SearchKind::Slots, {{"from", "2028-02-28"}}, kToday);
    REQUIRE(leap.ok());
    CHECK(leap->to == "2028-03-05");
    CHECK_FALSE(parse_search(SearchKind::Slots, {}, "today").ok());  // the caller's bug, not the client's
}

TEST_CASE("search: a hospital with a gap is flagged suspect on each of its items") {
    Searchable s;
    fill(s);
    s.p.apply(change_set("H001", 3, {doctor_rec("D9", "DEP1", "王五")}));  // seq 2 is missing
    auto doctors = s.search(SearchKind::Doctors, {});
    REQUIRE(doctors.ok());
    for (const auto& item : (*doctors)["items"]) {
        INFO(item.dump());
        CHECK(item["suspect"] == (item["hospitalId"] == "H001"));
        CHECK(item["doctorId"] != "D9");  // held, not applied
    }
    auto hospitals = s.search(SearchKind::Hospitals, {{"q", "协和"}});
    REQUIRE(hospitals.ok());
    CHECK((*hospitals)["items"][0]["suspect"] == true);
    auto slots = s.search(SearchKind::Slots, {{"hospital", "H002"}});
    REQUIRE(slots.ok());
    CHECK((*slots)["items"][0]["suspect"] == false);
}

TEST_CASE("search: over HTTP, 200 with the caller's freshness, 400 naming the parameter, 404 and 405") {
    Searchable s;
    fill(s);
    s.conn();
    const nlohmann::json freshness = {{"pos", 3}, {"lagMs", 0}};
    HttpServer server("127.0.0.1", 0, [&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
        serve_search(req, res, *s.db, freshness, kToday);
    });
    REQUIRE(server.start().ok());
    auto call = [&](const std::string& method, const std::string& uri) {
        Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
        Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(res), body);
        return std::make_tuple(static_cast<int>(res.getStatus()), body, res.get("Allow", ""));
    };
    {
        auto [status, body, allow] = call("GET", "/api/v1/search/doctors?q=%E7%8E%8B%E8%8A%B3&limit=5");
        CHECK(status == 200);
        auto j = nlohmann::json::parse(body);
        REQUIRE(j["items"].size() == 1);
        CHECK(j["items"][0]["name"] == "王芳");
        CHECK(j["next"].is_null());
        CHECK(j["freshness"] == freshness);
    }
    {
        auto [status, body, allow] = call("GET", "/api/v1/search/slots?from=2026-12-40");
        CHECK(status == 400);
        auto j = nlohmann::json::parse(body);
        CHECK(j["code"] == "search.bad_param");
        CHECK(j["message"].get<std::string>().find("from: expected a date YYYY-MM-DD") != std::string::npos);
        CHECK(j.contains("traceId"));
    }
    {
        auto [status, body, allow] = call("GET", "/api/v1/search/doctors?region=BJ");  // a hospitals parameter
        CHECK(status == 400);
        CHECK(nlohmann::json::parse(body)["message"].get<std::string>().find("region") != std::string::npos);
    }
    {
        auto [status, body, allow] = call("GET", "/api/v1/search/nurses");
        CHECK(status == 404);
        CHECK(nlohmann::json::parse(body)["code"] == "search.unknown_kind");
    }
    {
        auto [status, body, allow] = call("POST", "/api/v1/search/doctors");
        CHECK(status == 405);
        CHECK(allow == "GET, HEAD");
    }
    {
        auto [status, body, allow] = call("HEAD", "/api/v1/search/hospitals");
        CHECK(status == 200);
        CHECK(body.empty());
    }
    server.stop();
}
