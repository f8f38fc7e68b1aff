// The links of portal patients to hospitals' patient numbers (controlplane/patient_links.h),
// on a real SQLite file: bad input refused, writes all or nothing, one patient per number
// at a hospital, kept across a restart; and the links a hospital's answers give.
#include <catch2/catch.hpp>

#include "controlplane/answer_intake.h"
#include "controlplane/patient_links.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {
struct LinkStoreUnderTest {
    std::string dir = test::make_temp_dir("hisgate-links");
    ManualClock clock;
    std::unique_ptr<PatientLinks> store;
    LinkStoreUnderTest() { reopen(); }
    ~LinkStoreUnderTest() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        store.reset();
        auto opened = open_sqlite_patient_links(dir + "/results.db", clock);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    // "hospital=number" of each of the patient's links, by hospital.
    std::vector<std::string> links_of(const std::string& patient) {
        auto got = store->links_of(patient);
        REQUIRE(got.ok());
        std::vector<std::string> out;
        for (const auto& l : *got) out.push_back(l.hospital_id + "=" + l.his_patient_id);
        return out;
    }
};
}  // namespace

TEST_CASE("patient links: each patient's hospitals and numbers, kept across a restart, another number replaces") {
    LinkStoreUnderTest s;
    CHECK(s.links_of("PA").empty());
    REQUIRE(s.store->link({{"PA", "H002", "MRN-0042"}, {"PA", "H001", "PA"}}).ok());
    REQUIRE(s.store->link({{"PB", "H001", "PB"}}).ok());
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=PA", "H002=MRN-0042"});
    CHECK(s.links_of("PB") == std::vector<std::string>{"H001=PB"});
    s.reopen();
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=PA", "H002=MRN-0042"});
    auto at = s.store->his_patient_id("PA", "H002");
    REQUIRE(at.ok());
    CHECK(*at == std::optional<std::string>("MRN-0042"));
    auto none = s.store->his_patient_id("PA", "H003");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    // Who holds a number at a hospital: PB holds "PB" at H001; nobody "PA" at H002.
    auto holder = s.store->patient_of("H001", "PB");
    REQUIRE(holder.ok());
    CHECK(*holder == std::optional<std::string>("PB"));
    auto free_number = s.store->patient_of("H002", "PA");
    REQUIRE(free_number.ok());
    CHECK_FALSE(free_number->has_value());
    // The same link again changes nothing but its time; the hospital's new number replaces the old.
    s.clock.advance(std::chrono::seconds(5));
    REQUIRE(s.store->link({{"PA", "H002", "MRN-0042"}}).ok());
    REQUIRE(s.store->link({{"PA", "H002", "MRN-0077"}}).ok());
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=PA", "H002=MRN-0077"});
    // The old number is free again; another patient's links never show.
    REQUIRE(s.store->link({{"PB", "H002", "MRN-0042"}}).ok());
    CHECK(s.links_of("PB") == std::vector<std::string>{"H001=PB", "H002=MRN-0042"});
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=PA", "H002=MRN-0077"});
}

TEST_CASE("patient links: bad input, a taken number or a conflict writes nothing of the whole call") {
    LinkStoreUnderTest s;
    REQUIRE(s.store->link({{"PA", "H001", "N-1"}}).ok());
    struct BadLinkCase {
        PatientLink link;
        const char* code;
    };
    const std::vector<BadLinkCase> bad = {
        {{"", "H001", "N-9"}, "link.bad_patient"},
        {{"P A", "H001", "N-9"}, "link.bad_patient"},
        {{std::string(65, 'P'), "H001", "N-9"}, "link.bad_patient"},
        {{"PB", "", "N-9"}, "link.bad_hospital"},
        {{"PB", "H.1", "N-9"}, "link.bad_hospital"},
        {{"PB", "H001", ""}, "link.bad_his_patient"},
        {{"PB", "H001", "N 9"}, "link.bad_his_patient"},
        {{"PB", "H001", "N-9\n"}, "link.bad_his_patient"},
        {{"PB", "H001", std::string(65, '7')}, "link.bad_his_patient"},
        {{"PB", "H001", "N-\xe4\xb8\x80"}, "link.bad_his_patient"},
    };
    for (const auto& b : bad) {
        INFO(b.code);
        // A good link first in the same call: it is not written either.
        auto r = s.store->link({{"PB", "H002", "N-2"}, b.link});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == b.code);
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK(r.error().message.find("N-9") == std::string::npos);  // the number is never repeated
    }
    CHECK(s.links_of("PB").empty());

    // A number another patient holds at that hospital: refused, and the good link before it rolled back.
    auto taken = s.store->link({{"PB", "H002", "N-2"}, {"PB", "H001", "N-1"}});
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.error().code == "link.taken");
    CHECK(taken.error().message.find("N-1") == std::string::npos);
    CHECK(s.links_of("PB").empty());
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=N-1"});
    // The same number at another hospital is another patient's number: fine.
    REQUIRE(s.store->link({{"PB", "H002", "N-1"}}).ok());

    // Two numbers for one patient at one hospital in one call: refused, nothing written.
    auto conflict = s.store->link({{"PC", "H001", "N-5"}, {"PC", "H001", "N-6"}});
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().code == "link.conflict");
    CHECK(s.links_of("PC").empty());
    CHECK(s.store->link({}).ok());
}

TEST_CASE("patient links: a confirmed booking's answer, or its probe's, links its patient by the hospital's number, nothing else does") {
    LinkStoreUnderTest s;
    nlohmann::json booking = {{"orderId", "O-1"}, {"slot", {{"id", "S-1"}}}, {"patient", {{"id", "PA"}}}};
    auto request = Envelope::make("appointment.book", "H001", booking);
    auto linked = [&](const Envelope& req, const Envelope& reply, const std::string& hospital = "H001") {
        auto r = link_booked(*s.store, hospital, req, reply);
        REQUIRE(r.ok());
        return *r;
    };
    CHECK_FALSE(linked(request, request.reply_error(make_error(ErrorClass::Rejected, "x", "y"))));
    CHECK_FALSE(linked(request, request.reply({{"status", "pending"}, {"patientId", "MRN-1"}})));
    CHECK_FALSE(linked(request, request.reply({{"status", "booked"}})));  // no number: nothing to link
    CHECK_FALSE(linked(request, request.reply({{"status", "booked"}, {"patientId", 7}})));
    auto report = Envelope::make("report.list", "H001", {{"patientId", "PA"}});
    CHECK_FALSE(linked(report, report.reply({{"status", "booked"}, {"patientId", "MRN-1"}})));
    CHECK(s.links_of("PA").empty());

    CHECK(linked(request, request.reply({{"status", "booked"}, {"patientId", "MRN-1"}})));
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=MRN-1"});
    // Patient B's booking answered with A's number at that hospital is refused: B never sees A's reports.
    auto b_request = Envelope::make("appointment.book", "H001", {{"orderId", "O-2"}, {"patient", {{"id", "PB"}}}});
    auto taken = link_booked(*s.store, "H001", b_request, b_request.reply({{"status", "booked"}, {"patientId", "MRN-1"}}));
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.error().code == "link.taken");
    CHECK(s.links_of("PB").empty());
    // The ledger's probe of a booking in doubt names only the order: its task's patient is linked.
    auto probe = Envelope::make("appointment.status", "H003", {{"orderId", "O-3"}});
    auto probed = probe.reply({{"status", "booked"}, {"patientId", "MRN-3"}});
    CHECK_FALSE(linked(probe, probed, "H003"));  // no patient for the task: nothing linked
    CHECK_FALSE(linked(probe, probe.reply({{"status", "not_found"}, {"patientId", "MRN-3"}}), "H003"));
    auto by_owner = link_booked(*s.store, "H003", probe, probed, "PA");
    REQUIRE(by_owner.ok());
    CHECK(*by_owner);
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=MRN-1", "H003=MRN-3"});
    // A malformed number is refused, not stored.
    auto bad = link_booked(*s.store, "H002", request, request.reply({{"status", "booked"}, {"patientId", "MRN 1"}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(s.links_of("PA") == std::vector<std::string>{"H001=MRN-1", "H003=MRN-3"});
}

TEST_CASE("patient links: asking each link keeps the links' order past the batch size") {
    std::vector<PatientLink> links;
    for (int i = 0; i < 19; ++i) links.push_back({"PA", "H" + std::to_string(100 + i), "N"});
    auto got = ask_each_link<std::string>(links, [](const PatientLink& l) { return l.hospital_id; });
    REQUIRE(got.size() == links.size());
    for (size_t i = 0; i < links.size(); ++i) CHECK(got[i] == links[i].hospital_id);
}
