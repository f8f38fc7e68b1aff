// AnswerCommitter (issue 13): the answers workers take at the same time are kept, their
// bookings noted and their patients linked as one transaction on the connection the three
// stores share; a caller waiting for an answer finds it committed (another connection
// sees it) when it is woken; a second copy of an answer changes nothing. Real SQLite file,
// no broker (the answers come on another instance's topic: nobody waits here).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "controlplane/answer_commit.h"
#include "tests/support/process.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace std::chrono_literals;

TEST_CASE("answer commits: answers taken together are kept, noted and linked, and a waiter finds its answer committed") {
    const std::string dir = test::make_temp_dir("hisgate-answer-commit");
    const std::string file = dir + "/results.db";
    auto shared = sql::SharedDb::open(file);
    REQUIRE(shared.ok());
    auto results = TaskResults::open(*shared, SystemClock::instance());
    REQUIRE(results.ok());
    results->get()->group_expects();  // as the control plane runs it
    auto records = open_sqlite_patient_records(*shared, SystemClock::instance());
    REQUIRE(records.ok());
    auto links = open_sqlite_patient_links(*shared, SystemClock::instance());
    REQUIRE(links.ok());
    MqttOptions never_connected;
    never_connected.uri = "tcp://127.0.0.1:1";
    never_connected.client_id = "answer-commit-test";
    MqttLink link(never_connected);
    Requester requester(link);
    std::mutex booked_mu;
    std::vector<std::string> booked;
    AnswerCommitter committer({*shared, **results, **records, links->get()}, requester, "cp1", nullptr,
                              [&](const BookingNote& b) {
                                  std::lock_guard lock(booked_mu);
                                  booked.push_back(b.request_id);
                              });

    constexpr int kAnswers = 24;
    std::vector<Envelope> requests;
    for (int i = 0; i < kAnswers; ++i) {
        const std::string patient = "P" + std::to_string(i);
        auto request = Envelope::make(
            "appointment.book", "H001",
            {{"orderId", "O" + std::to_string(i)},
             {"slot", {{"doctorId", "DR-1"}, {"departmentId", "D-INT"}, {"date", "2026-12-08"}, {"half", "AM"}}},
             {"patient", {{"id", patient}}}});
        requests.push_back(std::move(request));
    }
    {  // expected from several threads at once, as the API's threads do
        std::atomic<int> fresh_ids{0};
        std::vector<std::thread> senders;
        for (int s = 0; s < 4; ++s)
            senders.emplace_back([&, s] {
                for (int i = s; i < kAnswers; i += 4) {
                    auto fresh = results->get()->expect(requests[i], {}, {"P" + std::to_string(i), ""});
                    if (fresh.ok() && *fresh) ++fresh_ids;
                }
            });
        for (auto& t : senders) t.join();
        CHECK(fresh_ids == kAnswers);
        auto again = results->get()->expect(requests[0], {}, {"P0", ""});  // a retry of the same id
        REQUIRE(again.ok());
        CHECK_FALSE(*again);
    }
    auto answer = [&](int i) {
        IncomingMessage m;
        m.topic = topics::response("H001", "cp2");  // another instance's: nobody waits here
        m.payload = requests[i].reply({{"status", "booked"}, {"patientId", "HIS-" + std::to_string(i)}}).to_json();
        return m;
    };

    // A caller waiting for the last answer, who reads it then on a connection of its own.
    bool committed_when_woken = false;
    std::thread waiter([&] {
        auto found = results->get()->wait_finished(requests.back().id, 20s);
        if (!found || !found->answered) return;
        auto other = TaskResults::open(file, SystemClock::instance());
        if (!other) return;
        auto seen = other->get()->find(requests.back().id);
        committed_when_woken = seen && seen->answered;
    });
    std::vector<std::thread> workers;
    for (int w = 0; w < 6; ++w)
        workers.emplace_back([&, w] {
            for (int i = w; i < kAnswers; i += 6) committer.take(answer(i));
        });
    for (auto& t : workers) t.join();
    waiter.join();
    CHECK(committed_when_woken);

    CHECK(committer.answers() == kAnswers);
    CHECK(committer.commits() >= 1);
    CHECK(committer.commits() <= kAnswers);
    for (int i = 0; i < kAnswers; ++i) {
        auto row = results->get()->find(requests[i].id);
        REQUIRE(row);
        CHECK(row->answered);
        auto number = links->get()->his_patient_id("P" + std::to_string(i), "H001");
        REQUIRE(number.ok());
        CHECK(number->value_or("") == "HIS-" + std::to_string(i));
    }
    auto counts = records->get()->counts({"H001", "P0", "O0", "DR-1", "D-INT", "2026-12-08"});
    REQUIRE(counts.ok());
    CHECK(counts->doctor_day == kAnswers);
    CHECK(counts->patient_day == 1);
    {
        std::lock_guard lock(booked_mu);
        CHECK(booked.size() == static_cast<size_t>(kAnswers));
    }

    // A second copy (QoS 1) is written nowhere: no second note, no second confirmation.
    committer.take(answer(3));
    CHECK(committer.answers() == kAnswers + 1);
    auto again = records->get()->counts({"H001", "P3", "O3", "DR-1", "D-INT", "2026-12-08"});
    REQUIRE(again.ok());
    CHECK(again->doctor_day == kAnswers);
    std::lock_guard lock(booked_mu);
    CHECK(booked.size() == static_cast<size_t>(kAnswers));
}
