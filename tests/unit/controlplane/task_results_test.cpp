// Nothing accepted is forgotten (issue 12 item 6): every request ends answered or expired
// with the reason by its deadline, and the store forgets finished requests after the
// retention. Real SQLite files; time stepped by a ManualClock.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "common/sqlite.h"
#include "controlplane/task_results.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace std::chrono_literals;

namespace {
struct Store {
    std::string dir = test::make_temp_dir("hisgate-results");
    ManualClock clock;
    std::unique_ptr<TaskResults> results;
    explicit Store(TaskRetention retention) {
        auto opened = TaskResults::open(dir + "/results.db", clock, retention);
        REQUIRE(opened.ok());
        results = std::move(opened.value());
    }
    ~Store() { std::system(("rm -rf " + dir).c_str()); }
    Envelope send(const std::string& hospital) {
        auto request = Envelope::make("report.get", hospital, {{"reportId", "R1"}});
        REQUIRE(results->expect(request).ok());
        return request;
    }
    TaskResults::Recorded answer(const Envelope& request) {
        auto reply = request.reply({{"reportId", "R1"}});
        auto kept = results->record(request.hospital_id, reply, reply.to_json());
        REQUIRE(kept.ok());
        return *kept;
    }
};

bool only_h001_online(const std::string& hospital) { return hospital == "H001"; }
}  // namespace

TEST_CASE("task results: a request unanswered by its deadline ends expired with the reason") {
    Store s({.deadline = 10min});
    auto unanswered = s.send("H001");  // its agent online, but it never said it stored it
    auto offline = s.send("H002");     // its agent offline
    auto answered = s.send("H001");
    REQUIRE(s.answer(answered) == TaskResults::Recorded::kept);

    s.clock.advance(10min - 1ms);
    REQUIRE(s.results->expire_due(only_h001_online).value() == 0);
    CHECK(s.results->find(unanswered.id)->to_json()["status"] == "pending");
    s.clock.advance(1ms);
    REQUIRE(s.results->expire_due(only_h001_online).value() == 2);
    auto a = s.results->find(unanswered.id);
    REQUIRE(a);
    CHECK(a->finished());
    CHECK(a->to_json()["status"] == "expired");
    CHECK(a->to_json()["error"]["code"] == "agent.unreached");
    CHECK(s.results->find(offline.id)->to_json()["error"]["code"] == "agent.offline");
    CHECK(s.results->find(answered.id)->to_json()["status"] == "answered");
    // Terminal: an answer after the deadline is counted and dropped; nothing expires twice.
    CHECK(s.answer(unanswered) == TaskResults::Recorded::late);
    CHECK(s.results->find(unanswered.id)->to_json()["status"] == "expired");
    CHECK(s.results->expire_due(only_h001_online).value() == 0);
}

TEST_CASE("task results: finished requests are kept for the retention and at most max_kept of them") {
    Store s({.deadline = 10min, .keep = 1h, .max_kept = 3});
    std::vector<Envelope> sent;
    for (int i = 0; i < 5; ++i) {
        sent.push_back(s.send("H001"));
        s.answer(sent.back());
        s.clock.advance(1s);
    }
    auto waiting = s.send("H001");
    // Beyond max_kept: the two that finished first go.
    REQUIRE(s.results->purge().value() == 2);
    CHECK_FALSE(s.results->find(sent[0].id));
    CHECK_FALSE(s.results->find(sent[1].id));
    CHECK(s.results->find(sent[2].id));
    // Past the retention: every finished one goes; the unfinished one stays.
    s.clock.advance(1h);
    REQUIRE(s.results->purge().value() == 3);
    CHECK(s.results->find(waiting.id));
    CHECK(s.results->purge().value() == 0);
    // ...until it expires, and the retention passes after that.
    s.clock.advance(10min);
    REQUIRE(s.results->expire_due(only_h001_online).value() == 1);
    s.clock.advance(1h + 1ms);
    REQUIRE(s.results->purge().value() == 1);
    CHECK_FALSE(s.results->find(waiting.id));
}

TEST_CASE("task results: a results file made before deadlines existed is upgraded in place") {
    std::string dir = test::make_temp_dir("hisgate-results");
    {
        auto db = sql::Db::open(dir + "/results.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec("CREATE TABLE task_results(request_id TEXT PRIMARY KEY, hospital_id TEXT NOT NULL, "
                         "type TEXT NOT NULL, sent_at TEXT NOT NULL, answer TEXT)")
                    .ok());
        REQUIRE(db->exec("INSERT INTO task_results VALUES('old', 'H001', 'report.get', '', NULL)").ok());
    }
    ManualClock clock;
    auto results = TaskResults::open(dir + "/results.db", clock, {.deadline = 1min});
    REQUIRE(results.ok());
    CHECK((*results)->find("old")->to_json()["status"] == "pending");
    // A request from before has deadline 0: it expires at the first round.
    CHECK((*results)->expire_due(only_h001_online).value() == 1);
    CHECK((*results)->find("old")->to_json()["status"] == "expired");
    std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("task results: a deferred request is re-sent until its agent says it stored it; then the HIS is to blame") {
    Store s({.deadline = 10min});
    auto request = Envelope::make("report.get", "H001", {{"reportId", "R1"}});
    request.ack_stored = true;
    REQUIRE(s.results->expect(request, {.deferred = true}).ok());
    auto realtime = s.send("H001");  // not deferred: never re-sent
    CHECK(s.results->due_resends(5s).value().empty());  // just sent
    s.clock.advance(5s);
    auto due = s.results->due_resends(5s).value();
    REQUIRE(due.size() == 1);
    CHECK(due[0].first == "H001");
    auto again = Envelope::parse(due[0].second);
    REQUIRE(again.ok());
    CHECK(again->id == request.id);  // the same id: the agent stores it once
    CHECK(again->ack_stored);
    CHECK(s.results->due_resends(5s).value().empty());  // marked sent
    s.clock.advance(5s);
    CHECK(s.results->due_resends(5s).value().size() == 1);
    // Another hospital cannot say it stored it.
    REQUIRE(s.results->mark_stored("H002", request.id).ok());
    s.clock.advance(5s);
    CHECK(s.results->due_resends(5s).value().size() == 1);
    REQUIRE(s.results->mark_stored("H001", request.id).ok());
    s.clock.advance(5s);
    CHECK(s.results->due_resends(5s).value().empty());
    // Stored, never answered: expired for the HIS.
    s.clock.advance(10min);
    REQUIRE(s.results->expire_due(only_h001_online).value() == 2);
    CHECK(s.results->find(request.id)->to_json()["error"]["code"] == "his.no_answer");
    CHECK(s.results->find(realtime.id)->to_json()["error"]["code"] == "agent.unreached");
    CHECK(s.results->due_resends(5s).value().empty());  // finished: never again
}

TEST_CASE("task results: a report's contents go a while after delivery; a booking's answer stays for its retries") {
    Store s({.keep = 24h, .after_delivery = 1min});
    auto report = Envelope::make("report.get", "H001", {{"reportId", "R1"}});
    REQUIRE(s.results->expect(report, {.deferred = true, .contents_until_delivered = true}, {"P1", ""}).ok());
    auto booking = Envelope::make("appointment.book", "H001", {{"orderId", "O1"}});
    REQUIRE(s.results->expect(booking, {}, {"P1", ""}).ok());
    auto report_answer = report.reply({{"patientId", "P1"}, {"reportId", "R1"}, {"items", {"HGB 135 g/L"}}});
    REQUIRE(s.results->record("H001", report_answer, report_answer.to_json()).ok());
    auto booking_answer = booking.reply({{"status", "booked"}, {"hisBookingId", "B1"}});
    REQUIRE(s.results->record("H001", booking_answer, booking_answer.to_json()).ok());

    // Not delivered yet: kept (for the retention) however long the patient takes to poll.
    s.clock.advance(2h);
    REQUIRE(s.results->purge().ok());
    CHECK(s.results->find(report.id)->to_json()["result"]["items"][0] == "HGB 135 g/L");

    // Delivered: a client whose response was lost may poll again within after_delivery...
    REQUIRE(s.results->mark_delivered(report.id).ok());
    REQUIRE(s.results->mark_delivered(booking.id).ok());  // a booking's kind keeps it: no effect
    s.clock.advance(59s);
    REQUIRE(s.results->purge().ok());
    CHECK_FALSE(s.results->find(report.id)->contents_dropped);
    // ...and a second delivery does not move the first one's time.
    REQUIRE(s.results->mark_delivered(report.id).ok());
    s.clock.advance(2s);
    REQUIRE(s.results->purge().ok());

    auto gone = s.results->find(report.id);
    REQUIRE(gone);
    CHECK(gone->contents_dropped);
    CHECK(gone->answered);
    CHECK(gone->owner == "P1");
    CHECK(gone->answer.find("HGB") == std::string::npos);
    auto shown = gone->to_json();
    CHECK(shown["status"] == "delivered");
    CHECK_FALSE(shown.contains("result"));
    CHECK(shown["error"]["code"] == "task.contents_dropped");
    CHECK(gone->outcome().error().code == "task.contents_dropped");
    // Nor are its bytes left in the file's free space once the log is checkpointed (the
    // database file is what a thief takes).
    {
        sql::Db db = sql::Db::open(s.dir + "/results.db").value();
        REQUIRE(db.exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    }
    std::ifstream file(s.dir + "/results.db", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 0);
    CHECK(bytes.find("HGB 135") == std::string::npos);

    // The booking's answer stays: a retry of its order is answered from it.
    auto kept = s.results->find(booking.id);
    CHECK_FALSE(kept->contents_dropped);
    CHECK(kept->outcome().value()["hisBookingId"] == "B1");
}

TEST_CASE("task results: keeping an answer hands back the request's row as find says it, and only the first time") {
    Store s({});
    auto request = Envelope::make("appointment.book", "H001", {{"orderId", "O1"}});
    REQUIRE(s.results->expect(request, {}, {"P1", "digest-1"}).ok());
    auto reply = request.reply({{"status", "booked"}});
    TaskResult row;
    REQUIRE(s.results->record("H002", reply, reply.to_json(), &row).value() == TaskResults::Recorded::refused);
    CHECK(row.request_id.empty());  // another hospital's answer: nothing handed back
    REQUIRE(s.results->record("H001", reply, reply.to_json(), &row).value() == TaskResults::Recorded::kept);
    auto found = s.results->find(request.id);
    REQUIRE(found);
    CHECK(row.to_json() == found->to_json());
    CHECK(row.request == found->request);
    CHECK(row.owner == "P1");
    CHECK(row.fingerprint == "digest-1");
    CHECK(row.type == "appointment.book");
    TaskResult again;
    CHECK(s.results->record("H001", reply, reply.to_json(), &again).value() == TaskResults::Recorded::duplicate);
    CHECK(again.request_id.empty());
}
