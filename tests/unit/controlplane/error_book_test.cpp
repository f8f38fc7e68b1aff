// The error book (controlplane/triage/error_book.h) on a real SQLite file, time stepped by
// a ManualClock: grouping, counts, resolution after the quiet period, owners that follow
// what the book sees, bounds.
#include <catch2/catch.hpp>

#include "controlplane/triage/default_rules.h"
#include "controlplane/triage/error_book.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane::triage;
using namespace std::chrono_literals;

namespace {
struct Book {
    std::string dir = test::make_temp_dir("hisgate-triage-book");
    ManualClock clock;
    BookSettings settings;
    std::unique_ptr<ErrorBook> book;
    explicit Book(BookSettings s = {}) : settings(s) { reopen(); }
    ~Book() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        book.reset();
        auto rules = OwnerRules::parse(std::string(default_rules_json()), "built-in");
        REQUIRE(rules.ok());
        auto opened = open_sqlite_error_book(dir + "/results.db", rules.value(), clock, settings);
        REQUIRE(opened.ok());
        book = std::move(opened.value());
    }
    Routing record(ErrorClass cls, const std::string& code, const std::string& hospital, const std::string& path,
                   const std::string& dialect = "rest-json", const std::string& trace = "") {
        auto r = book->record({cls, code, {hospital, dialect, path, "0.3.0", "south"}, Source::Answer, trace});
        INFO((r.ok() ? std::string() : r.error().describe()));
        REQUIRE(r.ok());
        return *r;
    }
    std::vector<ErrorGroup> open(const std::string& owner = "", int64_t since = 0) {
        auto g = book->open_groups({owner, since, 1000});
        REQUIRE(g.ok());
        return *g;
    }
};
const std::string kTraceA(32, 'a'), kTraceB(32, 'b');
}  // namespace

TEST_CASE("error book: occurrences of one error group with a count, first and last seen and a sample trace") {
    Book b;
    b.record(ErrorClass::Unavailable, "rest.connect_failed", "H1", "report.get", "rest-json", kTraceA);
    auto first = b.clock.wall_ms();
    b.clock.advance(10s);
    b.record(ErrorClass::Unavailable, "rest.connect_failed", "H1", "report.get", "rest-json", kTraceB);
    b.record(ErrorClass::Unavailable, "rest.connect_failed", "H1", "appointment.book");
    b.record(ErrorClass::Protocol, "his.mismatched_answer", "H2", "report.get");
    auto groups = b.open();
    REQUIRE(groups.size() == 3);
    // By owner, then the most frequent first.
    CHECK(groups[0].owner == "hospital-it");
    CHECK(groups[0].code == "rest.connect_failed");
    CHECK(groups[0].tags.path == "report.get");
    CHECK(groups[0].count == 2);
    CHECK(groups[0].first_ms == first);
    CHECK(groups[0].last_ms == first + 10000);
    CHECK(groups[0].sample_trace_id == kTraceA);
    CHECK(groups[0].rule == "his-down");
    CHECK(groups[0].tags.region == "south");
    CHECK(groups[1].tags.path == "appointment.book");
    CHECK(groups[2].owner == "integration");
    CHECK(b.open("integration").size() == 1);
    CHECK(b.open("hospital-it", first + 5000).size() == 2);
    CHECK(b.open("hospital-it", first + 20000).empty());
}

TEST_CASE("error book: a group quiet for the quiet period is resolved, and the next occurrence opens a new one") {
    Book b({.quiet = 10min});
    b.record(ErrorClass::Timeout, "mllp.read_timeout", "H1", "report.get", "hl7v2");
    b.clock.advance(9min);
    CHECK(b.open().size() == 1);
    b.clock.advance(2min);
    CHECK(b.open().empty());
    b.record(ErrorClass::Timeout, "mllp.read_timeout", "H1", "report.get", "hl7v2");
    auto groups = b.open();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].count == 1);
    CHECK(b.book->settle().ok());
}

TEST_CASE("error book: kept across a restart on its file") {
    Book b;
    b.record(ErrorClass::Internal, "results.lost", "H1", "appointment.book");
    b.reopen();
    b.record(ErrorClass::Internal, "results.lost", "H1", "appointment.book");
    auto groups = b.open();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].count == 2);
    CHECK(groups[0].owner == "platform-dev");
}

TEST_CASE("error book: a broker outage moves the first hospitals' offline errors to platform-ops as it spreads") {
    Book b;
    CHECK(b.record(ErrorClass::Unavailable, "hospital.offline", "H1", "appointment.book").owner == "hospital-it");
    CHECK(b.record(ErrorClass::Unavailable, "hospital.offline", "H2", "appointment.book").owner == "hospital-it");
    CHECK(b.record(ErrorClass::Unavailable, "hospital.offline", "H3", "report.get").owner == "platform-ops");
    auto groups = b.open();
    REQUIRE(groups.size() == 3);
    for (const auto& g : groups) CHECK(g.owner == "platform-ops");
    CHECK(b.open("hospital-it").empty());
}

TEST_CASE("error book: an agent's crash loop claims the offline errors of its hospital") {
    Book b;
    CHECK(b.record(ErrorClass::Unavailable, "hospital.offline", "H1", "appointment.book").owner == "hospital-it");
    CHECK(b.record(ErrorClass::Internal, "agent.attempts_exhausted", "H1", "appointment.book").owner == "agent-team");
    for (const auto& g : b.open()) CHECK(g.owner == "agent-team");
}

TEST_CASE("error book: business refusals are not booked, records out of bounds are refused") {
    Book b;
    CHECK_FALSE(b.record(ErrorClass::Rejected, "his.SLOT_TAKEN", "H1", "appointment.book").book);
    CHECK(b.open().empty());
    auto bad_code = b.book->record({ErrorClass::Rejected, "his.SLOT TAKEN", {"H1"}, Source::Answer, ""});
    REQUIRE_FALSE(bad_code.ok());
    CHECK(bad_code.error().code == "triage.bad_record");
    CHECK_THAT(bad_code.error().message, Catch::Contains("code"));
    auto long_tag = b.book->record({ErrorClass::Rejected, "his.E1", {"H1", std::string(65, 'x')}, Source::Answer, ""});
    REQUIRE_FALSE(long_tag.ok());
    CHECK_THAT(long_tag.error().message, Catch::Contains("tags.dialect"));
    auto bad_trace = b.book->record({ErrorClass::Rejected, "his.E1", {"H1"}, Source::Answer, "not-a-trace"});
    REQUIRE_FALSE(bad_trace.ok());
    CHECK(b.open().empty());
}

TEST_CASE("error book: no more than max_groups groups; beyond, new groups are refused and counted") {
    Book b({.max_groups = 2});
    b.record(ErrorClass::Internal, "results.lost", "H1", "a");
    b.record(ErrorClass::Internal, "results.lost", "H2", "a");
    auto third = b.book->record({ErrorClass::Internal, "results.lost", {"H3", "", "a"}, Source::Answer, ""});
    REQUIRE_FALSE(third.ok());
    CHECK(third.error().code == "triage.book_full");
    b.record(ErrorClass::Internal, "results.lost", "H1", "a");  // an open group still counts
    CHECK(b.open().size() == 2);
}
