// The HIS's pushes over real MLLP: the test plays the HIS, building MFN and SIU messages
// with the hl7 API and sending them with mllp::Client to the extractor's listener.
#include <catch2/catch.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "agent/extraction/extractor.h"
#include "agent/gated_adapter.h"
#include "agent/his_gate.h"
#include "hl7/message.h"
#include "tests/support/hl7_push.h"
#include "simulated_his.h"

using namespace hisgate;
using hisgate::test::CollectingSink;
using hisgate::test::SimulatedHis;
using namespace hisgate::test::hl7_push;

namespace {

// One MLLP frame written and one read on a plain socket.
std::string raw_exchange(uint16_t port, const std::string& message) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    std::string frame = "\x0b" + message + "\x1c\x0d";
    socket.sendBytes(frame.data(), static_cast<int>(frame.size()));
    std::string in;
    char buf[4096];
    while (in.find("\x1c\x0d") == std::string::npos) {
        int n = socket.receiveBytes(buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
    }
    auto start = in.find('\x0b'), end = in.find("\x1c\x0d");
    REQUIRE(start != std::string::npos);
    REQUIRE(end != std::string::npos);
    return in.substr(start + 1, end - start - 1);
}

// The adapter listens for the pushes (extraction.push.listen), the extractor applies them.
struct Fixture {
    SimulatedHis his{R"({"interval": "1h", "push": {"listen": "127.0.0.1:)" + std::to_string(test::free_port()) + "\"}}"};
    CollectingSink sink;
    std::unique_ptr<extraction::Extractor> x;

    Fixture() {
        REQUIRE(his.start());
        auto opened = extraction::Extractor::open(his.adapter(), his.settings(), his.state_file(), "H001", sink);
        REQUIRE(opened.ok());
        x = std::move(opened.value());
        REQUIRE(x->start().ok());
        // The first pull at start is seq 1; pushes follow it.
        REQUIRE(test::eventually([&] { return sink.changesets().size() == 1; }));
    }
};

}  // namespace

TEST_CASE("extraction push: MFN and SIU messages become change sets and are acknowledged AA") {
    Fixture f;
    FakeHis his(f.x->push_port());

    SECTION("a new doctor (MFN^M02 MAD), sent twice, is one change set") {
        auto ack = his.send(doctor_message("C1", "MAD", "DOC-PUSH", "DEP-X"));
        CHECK(ack.code == "AA");
        CHECK(ack.control_id == "C1");
        auto sets = f.sink.changesets();
        REQUIRE(sets.size() == 2);
        CHECK(sets[1]["seq"] == 2);
        CHECK(sets[1]["baseSeq"] == 1);
        CHECK(sets[1]["source"] == "push");
        CHECK(sets[1]["trigger"] == "MFN^M02");
        CHECK(sets[1]["controlId"] == "C1");
        REQUIRE(sets[1]["changes"].size() == 1);
        CHECK(sets[1]["changes"][0] == nlohmann::json{{"entity", "doctor"}, {"op", "upsert"}, {"key", "DOC-PUSH"},
                                                      {"data", {{"doctorId", "DOC-PUSH"}, {"departmentId", "DEP-X"},
                                                                {"name", "Li Wei"}, {"title", "Chief Physician"}}}});
        // The HIS resends (its own retry): acknowledged, nothing new to publish.
        CHECK(his.send(doctor_message("C2", "MUP", "DOC-PUSH", "DEP-X")).code == "AA");
        CHECK(f.sink.changesets().size() == 2);
        // Deleted (MDL): a delete change.
        CHECK(his.send(doctor_message("C3", "MDL", "DOC-PUSH", "DEP-X")).code == "AA");
        sets = f.sink.changesets();
        REQUIRE(sets.size() == 3);
        CHECK(sets[2]["changes"][0] == nlohmann::json{{"entity", "doctor"}, {"op", "delete"}, {"key", "DOC-PUSH"}, {"data", nullptr}});
    }

    SECTION("departments (MFN^M05), two records in one message, are one change set") {
        Push p("MFN", "M05", "C10");
        p.set("MFI-1", "LOC");
        p.set("MFE[1]-1", "MAD").set("MFE[1]-4-1", "DEP-A").set("LOC[1]-1-1", "DEP-A").set("LOC[1]-2", "Cardiology");
        p.set("MFE[2]-1", "MAD").set("MFE[2]-4-1", "DEP-B").set("LOC[2]-1-1", "DEP-B").set("LOC[2]-2", "Dermatology");
        CHECK(his.send(p).code == "AA");
        auto sets = f.sink.changesets();
        REQUIRE(sets.size() == 2);
        REQUIRE(sets[1]["changes"].size() == 2);
        CHECK(sets[1]["changes"][0]["data"] == nlohmann::json{{"departmentId", "DEP-A"}, {"name", "Cardiology"}});
        CHECK(sets[1]["changes"][1]["data"] == nlohmann::json{{"departmentId", "DEP-B"}, {"name", "Dermatology"}});
    }

    SECTION("a slot booked, modified and cancelled (SIU^S12, S14, S15)") {
        CHECK(his.send(slot_message("C20", "S12", "SL-PUSH", "202612010900", "10")).code == "AA");
        auto sets = f.sink.changesets();
        REQUIRE(sets.size() == 2);
        CHECK(sets[1]["trigger"] == "SIU^S12");
        REQUIRE(sets[1]["changes"].size() == 1);
        CHECK(sets[1]["changes"][0]["data"] ==
              nlohmann::json{{"slotId", "SL-PUSH"}, {"doctorId", "DOC-X"}, {"departmentId", "DEP-X"},
                             {"date", "2026-12-01"}, {"start", "09:00"}, {"end", "11:30"}, {"half", "AM"},
                             {"capacity", 10}, {"booked", 2}, {"feeCents", 2550}});

        CHECK(his.send(slot_message("C21", "S14", "SL-PUSH", "202612010900", "12")).code == "AA");
        sets = f.sink.changesets();
        REQUIRE(sets.size() == 3);
        CHECK(sets[2]["changes"][0]["data"]["capacity"] == 12);

        Push cancel("SIU", "S15", "C22");
        cancel.set("SCH-2-1", "SL-PUSH");
        CHECK(his.send(cancel).code == "AA");
        sets = f.sink.changesets();
        REQUIRE(sets.size() == 4);
        CHECK(sets[3]["changes"][0] == nlohmann::json{{"entity", "slot"}, {"op", "delete"}, {"key", "SL-PUSH"}, {"data", nullptr}});
        // Deleting it again (S17) changes nothing: acknowledged, nothing published.
        Push again("SIU", "S17", "C23");
        again.set("SCH-2-1", "SL-PUSH");
        CHECK(his.send(again).code == "AA");
        CHECK(f.sink.changesets().size() == 4);
    }

    // Whatever happened, the sequence is gap-free.
    auto sets = f.sink.changesets();
    for (size_t i = 0; i < sets.size(); ++i) CHECK(sets[i]["seq"] == static_cast<int64_t>(i + 1));
}

TEST_CASE("extraction push: messages it cannot apply are answered AE or AR with the reason and change nothing") {
    Fixture f;
    FakeHis his(f.x->push_port());
    struct Case {
        const char* what;
        Push message;
        const char* code;
        const char* says;
    };
    Push no_key = slot_message("B2", "S12", "SL-1", "202612010900", "10");
    no_key.set("SCH-2-1", "");
    Push bad_capacity = slot_message("B3", "S12", "SL-1", "202612010900", "many");
    Push bad_start = slot_message("B4", "S14", "SL-1", "2026-12-01", "10");
    Push bad_event = doctor_message("B5", "MXX", "DOC-1", "DEP-X");
    Push second_bad("MFN", "M02", "B6");
    second_bad.set("MFE[1]-1", "MAD").set("MFE[1]-4-1", "DOC-OK").set("STF[1]-3-1", "Zhang").set("STF[1]-7-1", "DEP-X");
    second_bad.set("MFE[2]-1", "MAD").set("MFE[2]-4-1", "DOC-NONAME").set("STF[2]-7-1", "DEP-X");
    Push no_mfe("MFN", "M05", "B7");
    no_mfe.set("MFI-1", "LOC");
    Push overbooked = slot_message("B8", "S12", "SL-1", "202612010900", "1");

    Case cases[] = {
        {"a message type it does not take", Push("ADT", "A01", "B1"), "AR", "unsupported message type: ADT^A01"},
        {"an SIU event it does not take", Push("SIU", "S26", "B9"), "AR", "unsupported event code: SIU^S26"},
        {"an SIU without the slot id", no_key, "AE", "slot.id at SCH-2 is empty"},
        {"a capacity that is not a number", bad_capacity, "AE", "slot.capacity of slot SL-1 at ZSL-8 is \"many\""},
        {"a start that is not an HL7 timestamp", bad_start, "AE", "slot.start of slot SL-1 at SCH-11-4"},
        {"an MFE event code outside HL7 table 0180", bad_event, "AE", "record event \"MXX\""},
        {"a bad second record: the good first one is not applied either", second_bad, "AE",
         "doctor.family_name at STF[2]-3 is empty"},
        {"an MFN without MFE", no_mfe, "AE", "at least one MFE"},
        {"more booked than places", overbooked, "AE", "slot.booked of slot SL-1"},
    };
    for (auto& c : cases) {
        INFO(c.what);
        auto ack = his.send(c.message);
        CHECK(ack.code == c.code);
        CHECK_THAT(ack.text, Catch::Contains(c.says));
    }
    // Bytes that are not a message it can read (an unknown MSH-18 charset), framed by hand
    // since mllp::Client refuses to send what it cannot parse: rejected with the reason.
    auto unreadable = hl7::Message::parse(
        raw_exchange(f.x->push_port(), "MSH|^~\\&|HIS||HISGATE||20260101120000||SIU^S12|B10|P|2.4||||||KLINGON\rSCH||SL-9\r"));
    REQUIRE(unreadable.ok());
    CHECK(unreadable->get("MSA-1") == "AR");
    CHECK(unreadable->get("MSA-2") == "B10");
    CHECK_THAT(unreadable->get("MSA-3"), Catch::Contains("KLINGON"));

    // Nothing was applied: only the first pull was published, and the seq did not move.
    CHECK(f.sink.changesets().size() == 1);
    CHECK(f.x->last_seq() == 1);

    // The listener still serves: a good message right after is applied as seq 2.
    CHECK(his.send(doctor_message("G1", "MAD", "DOC-AFTER", "DEP-X")).code == "AA");
    CHECK(f.x->last_seq() == 2);
}

namespace {
// The real adapter (through the agent's gate) that runs `after_read` once a pull has read the
// HIS and before the pull applies what it read: the moment a push can overtake it.
class PausingAdapter : public agent::GatedAdapter {
public:
    using GatedAdapter::GatedAdapter;
    std::function<void()> after_read;
    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        auto read = GatedAdapter::extract_reference_data(from, to);
        if (after_read) after_read();
        return read;
    }
};

bool touches(const nlohmann::json& changeset, const std::string& key) {
    for (const auto& c : changeset["changes"])
        if (c["key"] == key) return true;
    return false;
}
}  // namespace

TEST_CASE("extraction push: a pull that read the HIS before a push does not undo it; the next pull compares it again") {
    SimulatedHis his{R"({"interval": "1h", "push": {"listen": "127.0.0.1:)" + std::to_string(test::free_port()) + "\"}}"};
    REQUIRE(his.start());
    agent::HisGate gate(4, 600);
    PausingAdapter adapter(his.adapter(), gate, {});
    CollectingSink sink;
    auto opened = extraction::Extractor::open(adapter, his.settings(), his.state_file(), "H001", sink);
    REQUIRE(opened.ok());
    auto& x = *opened.value();
    REQUIRE(x.start().ok());
    REQUIRE(test::eventually([&] { return sink.changesets().size() == 1; }));

    // While the next pull holds what it read, the HIS pushes a slot its records (as the pull
    // read them) do not have.
    std::string start = test::days_after(test::today_utc(), 1);
    start.erase(std::remove(start.begin(), start.end(), '-'), start.end());
    FakeHis pusher(x.push_port());
    adapter.after_read = [&] { CHECK(pusher.send(slot_message("C-RACE", "S12", "S-RACE", start + "1100", "6")).code == "AA"); };
    auto pulled = x.extract_now();
    REQUIRE(pulled.ok());
    adapter.after_read = nullptr;
    auto sets = sink.changesets();
    REQUIRE(sets.size() >= 2);
    CHECK(sets[1]["source"] == "push");
    CHECK(touches(sets[1], "S-RACE"));
    // The pull left the pushed slot alone (it would have deleted it: its read did not list it).
    for (size_t i = 2; i < sets.size(); ++i) CHECK_FALSE(touches(sets[i], "S-RACE"));
    auto snap = x.snapshot(1u << 24);
    REQUIRE(snap.ok());
    bool kept = false;
    for (const auto& r : snap->records) kept = kept || r["key"] == "S-RACE";
    CHECK(kept);

    // The next pull began after the push: the HIS's own records decide, and it has no such slot.
    REQUIRE(x.extract_now().ok());
    sets = sink.changesets();
    REQUIRE(touches(sets.back(), "S-RACE"));
    for (const auto& c : sets.back()["changes"])
        if (c["key"] == "S-RACE") CHECK(c["op"] == "delete");
}
