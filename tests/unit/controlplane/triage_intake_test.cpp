// What feeds the error book (controlplane/triage/error_intake.h) and what GET
// /api/v1/triage reads from it (controlplane/triage/triage_listing.h).
#include <catch2/catch.hpp>

#include "common/metrics.h"
#include "controlplane/events/event_intake.h"
#include "controlplane/triage/default_rules.h"
#include "controlplane/triage/error_intake.h"
#include "controlplane/triage/triage_listing.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace hisgate::controlplane::triage;

namespace {
OwnerRules builtin() {
    auto rules = OwnerRules::parse(std::string(default_rules_json()), "built-in");
    REQUIRE(rules.ok());
    return std::move(rules.value());
}

struct Intake {
    ManualClock clock;
    HospitalRegistry registry;
    std::unique_ptr<ErrorBook> book;
    std::unique_ptr<ErrorIntake> intake;
    std::unique_ptr<events::SeenEvents> seen;
    std::unique_ptr<events::EventIntake> events;
    Intake() {
        auto opened = open_sqlite_error_book(":memory:", builtin(), clock);
        REQUIRE(opened.ok());
        book = std::move(opened.value());
        intake = std::make_unique<ErrorIntake>(*book, registry);
        auto s = events::open_sqlite_seen_events(":memory:", clock);
        REQUIRE(s.ok());
        seen = std::move(s.value());
        events = std::make_unique<events::EventIntake>(*seen);
        events->on("probe.result", [this](const events::AgentEvent& e) { intake->probe_event(e); });
        nlohmann::json birth = {{"online", true}, {"session", 1}, {"seq", 1}, {"version", "0.3.0"}, {"adapter", "hl7v2"},
                                {"region", "south"}, {"protocol", {{"min", 1}, {"max", 1}}}, {"capabilities", nlohmann::json::array()}};
        REQUIRE(registry.apply_state({topics::state("H1"), Envelope::make("state", "H1", birth).to_json()}).ok());
    }
    std::vector<ErrorGroup> open() {
        auto g = book->open_groups({});
        REQUIRE(g.ok());
        return *g;
    }
    // Through the event intake, as the control plane takes every event (controlplane/main.cpp).
    void event(const std::string& hospital, const std::string& payload) { events->take({topics::event(hospital), payload}); }
};

double events_counted(const std::string& type) {
    return metrics::global()
        .counter("hisgate_controlplane_events_total",
                 "Agent events received, by type (unknown, unreadable and repeated ones too)", {{"type", type}})
        .value();
}

double rejected() {
    return metrics::global()
        .counter("hisgate_triage_events_rejected_total", "Failed probe events triage could not book (no code or path)")
        .value();
}

nlohmann::json failed_probe(const std::string& cls, const std::string& code) {
    return {{"path", "report.get"}, {"outcome", "failed"}, {"error", {{"class", cls}, {"code", code}, {"message", "Zhang San"}}}};
}
}  // namespace

TEST_CASE("triage intake: a failed probe event is booked with the path probed and the tags of the hospital's birth") {
    Intake in;
    in.event("H1", Envelope::make("probe.result", "H1", failed_probe("unavailable", "mllp.connect_failed")).to_json());
    auto groups = in.open();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].code == "mllp.connect_failed");
    CHECK(groups[0].cls == ErrorClass::Unavailable);
    CHECK(groups[0].tags.hospital == "H1");
    CHECK(groups[0].tags.path == "report.get");
    CHECK(groups[0].tags.dialect == "hl7v2");
    CHECK(groups[0].tags.version == "0.3.0");
    CHECK(groups[0].tags.region == "south");
    CHECK(groups[0].owner == "hospital-it");
    // A probe that answered is no error.
    in.event("H1", Envelope::make("probe.result", "H1", {{"path", "report.get"}, {"outcome", "ok"}}).to_json());
    CHECK(in.open()[0].count == 1);
}

TEST_CASE("triage intake: an unknown event type is logged and counted, never booked, never a crash") {
    Intake in;
    double unknown = events_counted("unknown"), unreadable = events_counted("unreadable"), refused = rejected();
    in.event("H1", Envelope::make("cosmic.ray", "H1", failed_probe("internal", "x.y")).to_json());
    CHECK(events_counted("unknown") == unknown + 1);
    // Unreadable: not JSON, another hospital's envelope on this topic.
    in.event("H1", "{not json");
    in.event("H2", Envelope::make("probe.result", "H1", failed_probe("internal", "x.y")).to_json());
    CHECK(events_counted("unreadable") == unreadable + 2);
    // Readable, but a failed probe triage cannot book: no code, fields of the wrong type.
    in.event("H1", Envelope::make("probe.result", "H1", {{"path", "report.get"}, {"outcome", "failed"}}).to_json());
    in.event("H1", Envelope::make("probe.result", "H1", {{"path", 7}, {"outcome", "failed"}, {"error", {{"code", 1}}}}).to_json());
    in.event("H1", Envelope::make("probe.result", "H1", {{"path", "p"}, {"outcome", 3}}).to_json());
    CHECK(rejected() == refused + 2);
    // A code out of bounds is not booked.
    in.event("H1", Envelope::make("probe.result", "H1", failed_probe("internal", std::string(200, 'x'))).to_json());
    CHECK(in.open().empty());
    // Known events without errors are counted and passed over.
    double dwell = events_counted("queue.dwell_exceeded");
    in.event("H1", Envelope::make("queue.dwell_exceeded", "H1", {{"oldest_seconds", 700}}).to_json());
    CHECK(events_counted("queue.dwell_exceeded") == dwell + 1);
    CHECK(in.open().empty());
}

TEST_CASE("triage intake: a failed probe delivered twice (QoS 1, an outbox resend) is booked once") {
    Intake in;
    auto failed = Envelope::make("probe.result", "H1", failed_probe("unavailable", "mllp.connect_failed")).to_json();
    double repeated = events_counted("repeated");
    in.event("H1", failed);
    in.event("H1", failed);
    in.clock.advance(std::chrono::minutes(20));  // the agent's outbox, after an outage (within triage's 30 min quiet)
    in.event("H1", failed);
    auto groups = in.open();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].count == 1);
    CHECK(events_counted("repeated") == repeated + 2);
    // Another failure of the same kind is a second occurrence.
    in.event("H1", Envelope::make("probe.result", "H1", failed_probe("unavailable", "mllp.connect_failed")).to_json());
    CHECK(in.open()[0].count == 2);
}

TEST_CASE("triage intake: answers and router failures are booked, a caller's own mistakes are not") {
    Intake in;
    std::string tp = "00-" + std::string(32, 'c') + "-" + std::string(16, 'd') + "-01";
    in.intake->answer_error("H1", "appointment.book", make_error(ErrorClass::Rejected, "his.E501", "Li Si refused"), tp);
    in.intake->answer_error("H1", "report.get", make_error(ErrorClass::NotFound, "report.not_found", "no such"), tp);
    in.intake->router_failure("H1", "appointment.book", make_error(ErrorClass::Unavailable, "hospital.offline", "x"), "");
    in.intake->router_failure("H1", "appointment.book", make_error(ErrorClass::BadInput, "request.unsupported", "x"), "");
    in.intake->router_failure("H9", "appointment.book", make_error(ErrorClass::NotFound, "hospital.unknown", "x"), "");
    auto groups = in.open();
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].owner == "his-vendor");
    CHECK(groups[0].sample_trace_id == std::string(32, 'c'));
    CHECK(groups[1].owner == "hospital-it");
    CHECK(groups[1].code == "hospital.offline");
    // A hospital the registry never saw: booked without the birth's tags.
    in.intake->router_failure("H7", "report.get", make_error(ErrorClass::Timeout, "agent.timeout", "x"), "");
    CHECK(in.open().size() == 3);
}

TEST_CASE("triage listing: query parameters are checked, 400 with what, where and expected") {
    auto rules = builtin();
    const int64_t now = 1'800'000'000'000;
    auto q = read_triage_query({{"owner", "hospital-it"}, {"since", "2h"}, {"limit", "50"}}, rules, now);
    REQUIRE(q.ok());
    CHECK(q->owner == "hospital-it");
    CHECK(q->since_ms == now - 2 * 3600 * 1000);
    CHECK(q->limit == 50);
    auto iso = read_triage_query({{"since", "2026-12-03T18:00:00.5Z"}}, rules, now);
    REQUIRE(iso.ok());
    CHECK(iso->since_ms == 1796320800500);
    auto check = [&](std::vector<std::pair<std::string, std::string>> params, const std::string& words) {
        auto r = read_triage_query(params, rules, now);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "triage.bad_query");
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK_THAT(r.error().message, Catch::Contains(words));
    };
    check({{"owner", "nobody"}}, "query parameter owner: expected a team of the triage rules (agent-team, finance, his-vendor");
    check({{"since", "yesterday"}}, "query parameter since: expected an ISO 8601 UTC instant");
    check({{"since", "2026-13-03T18:00:00Z"}}, "since");
    check({{"since", "2026-12-03T18:00:00+08:00"}}, "since");
    check({{"limit", "0"}}, "query parameter limit: expected an integer from 1 to 10000, found \"0\"");
    check({{"limit", "-5"}}, "limit");
    check({{"colour", "red"}}, "query parameter colour: expected one of owner, since, limit");
    check({{"owner", "hospital-it"}, {"owner", "integration"}}, "query parameter owner: expected at most one value");
    check({{"owner", std::string(100, 'a')}}, "expected at most 64 bytes, found 100 bytes");
}

TEST_CASE("triage listing: groups by owner with counts and a sample trace id") {
    std::vector<ErrorGroup> groups(3);
    groups[0].owner = groups[1].owner = "hospital-it";
    groups[2].owner = "integration";
    groups[0].count = 5, groups[1].count = 2, groups[2].count = 1;
    groups[0].code = "mllp.connect_failed";
    groups[0].sample_trace_id = std::string(32, 'e');
    auto body = triage_listing(groups, {"", 0, 1000});
    REQUIRE(body["owners"].size() == 2);
    CHECK(body["owners"][0]["owner"] == "hospital-it");
    CHECK(body["owners"][0]["groups"] == 2);
    CHECK(body["owners"][0]["count"] == 7);
    CHECK(body["owners"][0]["errors"][0]["sampleTraceId"] == std::string(32, 'e'));
    CHECK(body["owners"][1]["count"] == 1);
    CHECK(body["count"] == 8);
    CHECK(body["truncated"] == false);
}
