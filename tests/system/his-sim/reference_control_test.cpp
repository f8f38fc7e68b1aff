// his-sim's control API for reference data (PUT/DELETE /doctors/{id}, /slots/{id}): the
// real process, each dialect read back through the registry's adapter, as the agent's
// next pull would read it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/running_his.h"
#include "tests/support/system.h"

using namespace hisgate;

namespace {

const Doctor* doctor_in(const ReferenceData& d, const std::string& id) {
    for (const auto& x : d.doctors)
        if (x.doctor_id == id) return &x;
    return nullptr;
}
const ScheduleSlot* slot_in(const ReferenceData& d, const std::string& id) {
    for (const auto& x : d.slots)
        if (x.slot_id == id) return &x;
    return nullptr;
}

nlohmann::json slot_body(const std::string& date) {
    return {{"doctorId", "DR-900"}, {"departmentId", "D-INT"}, {"date", date}, {"start", "14:00"}, {"end", "14:30"},
            {"half", "PM"},        {"capacity", 3},           {"booked", 1},   {"feeCents", 3300}};
}

std::string code_of(const test::HttpReply& r) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc.value("code", "") : "";
}

}  // namespace

TEST_CASE("his-sim control: a doctor and a slot put and deleted on command are what the next extraction returns") {
    auto dialect = GENERATE(std::string("hl7v2-mllp"), std::string("rest-json"), std::string("soap-xml"));
    INFO(dialect);
    test::RunningHis his(nlohmann::json{{"dialect", dialect}});
    const std::string from = sim::utc_today(), to = sim::add_days(from, 6), day = sim::add_days(from, 1);

    auto put_doctor = test::http_send(his.control_port, "PUT", "/doctors/DR-900",
                                      R"({"departmentId": "D-INT", "name": "Dr. Hu Min", "title": "Chief physician"})");
    INFO(put_doctor.body);
    REQUIRE(put_doctor.status == 200);
    auto put_slot = test::http_send(his.control_port, "PUT", "/slots/S-NEW-1", slot_body(day).dump());
    INFO(put_slot.body);
    REQUIRE(put_slot.status == 200);

    auto data = his.adapter->extract_reference_data(from, to);
    INFO((data.ok() ? "" : data.error().describe()));
    REQUIRE(data.ok());
    const Doctor* d = doctor_in(data.value(), "DR-900");
    REQUIRE(d);
    CHECK(d->department_id == "D-INT");
    CHECK(d->name == "Dr. Hu Min");
    CHECK(d->title == "Chief physician");
    const ScheduleSlot* s = slot_in(data.value(), "S-NEW-1");
    REQUIRE(s);
    CHECK(s->doctor_id == "DR-900");
    CHECK(s->date == day);
    CHECK(s->start == "14:00");
    CHECK(s->end == "14:30");
    CHECK(s->half == "PM");
    CHECK(s->capacity == 3);
    CHECK(s->booked == 1);
    CHECK(s->fee_cents == 3300);

    // An upsert replaces: the doctor's new title, the slot's new capacity.
    REQUIRE(test::http_send(his.control_port, "PUT", "/doctors/DR-900",
                            R"({"departmentId": "D-INT", "name": "Dr. Hu Min", "title": "Professor"})").status == 200);
    auto bigger = slot_body(day);
    bigger["capacity"] = 5;
    REQUIRE(test::http_send(his.control_port, "PUT", "/slots/S-NEW-1", bigger.dump()).status == 200);
    auto again = his.adapter->extract_reference_data(from, to);
    REQUIRE(again.ok());
    REQUIRE(doctor_in(again.value(), "DR-900"));
    CHECK(doctor_in(again.value(), "DR-900")->title == "Professor");
    REQUIRE(slot_in(again.value(), "S-NEW-1"));
    CHECK(slot_in(again.value(), "S-NEW-1")->capacity == 5);

    // A doctor with slots is not deleted; without them it is.
    auto refused = test::http_send(his.control_port, "DELETE", "/doctors/DR-900", "");
    CHECK(refused.status == 409);
    CHECK(code_of(refused) == "doctor.has_slots");
    auto slot_gone = test::http_send(his.control_port, "DELETE", "/slots/S-NEW-1", "");
    REQUIRE(slot_gone.status == 200);
    CHECK(nlohmann::json::parse(slot_gone.body)["deleted"] == true);
    REQUIRE(test::http_send(his.control_port, "DELETE", "/doctors/DR-900", "").status == 200);
    CHECK(nlohmann::json::parse(test::http_send(his.control_port, "DELETE", "/doctors/DR-900", "").body)["deleted"] == false);
    auto after = his.adapter->extract_reference_data(from, to);
    REQUIRE(after.ok());
    CHECK_FALSE(doctor_in(after.value(), "DR-900"));
    CHECK_FALSE(slot_in(after.value(), "S-NEW-1"));
}

TEST_CASE("his-sim control: a bad reference-data command is answered 400 naming the field, and changes nothing") {
    test::RunningHis his(nlohmann::json{{"dialect", "rest-json"}});
    const std::string day = sim::add_days(sim::utc_today(), 1);
    struct Case {
        std::string method, path, body, code, field;
    };
    auto slot_with = [&](const char* field, nlohmann::json value) {
        auto b = slot_body(day);
        b["doctorId"] = "DR-101";
        if (value.is_null()) b.erase(field);
        else b[field] = value;
        return b.dump();
    };
    Case cases[] = {
        {"PUT", "/doctors/DR-901", R"({"name": "X", "title": ""})", "control.bad_departmentId", "departmentId"},
        {"PUT", "/doctors/DR-901", R"({"departmentId": "D-INT", "name": "", "title": ""})", "control.bad_name", "name"},
        {"PUT", "/doctors/DR-901", R"({"departmentId": "D-NONE", "name": "X", "title": ""})", "doctor.departmentId", "departmentId"},
        {"PUT", "/doctors/DR-901", R"({"departmentId": "D-INT", "name": "X", "title": "", "age": 3})", "control.unknown_field", "age"},
        {"PUT", "/doctors/DR-901", "{not json", "control.invalid_json", "JSON"},
        {"PUT", "/doctors/bad%20id", R"({"departmentId": "D-INT", "name": "X", "title": ""})", "control.bad_doctorId", "doctorId"},
        {"PUT", "/slots/S-BAD", slot_with("capacity", "many"), "control.bad_capacity", "capacity"},
        {"PUT", "/slots/S-BAD", slot_with("booked", 9), "control.bad_booked", "booked"},
        {"PUT", "/slots/S-BAD", slot_with("date", "2026-13-01"), "control.bad_date", "date"},
        {"PUT", "/slots/S-BAD", slot_with("start", "9am"), "control.bad_start", "start"},
        {"PUT", "/slots/S-BAD", slot_with("end", "13:00"), "control.bad_end", "end"},
        {"PUT", "/slots/S-BAD", slot_with("half", "noon"), "control.bad_half", "half"},
        {"PUT", "/slots/S-BAD", slot_with("feeCents", nullptr), "control.bad_feeCents", "feeCents"},
        {"PUT", "/slots/S-BAD", slot_with("doctorId", "DR-404"), "slot.doctorId", "doctorId"},
    };
    for (const auto& c : cases) {
        INFO(c.method << " " << c.path << " " << c.body);
        auto reply = test::http_send(his.control_port, c.method, c.path, c.body);
        INFO(reply.body);
        CHECK(reply.status == 400);
        CHECK(code_of(reply) == c.code);
        CHECK(reply.body.find(c.field) != std::string::npos);
    }
    CHECK(his.count("SELECT count(*) FROM doctors WHERE doctor_id = ?1", "DR-901") == 0);
    CHECK(his.count("SELECT count(*) FROM slots WHERE slot_id = ?1", "S-BAD") == 0);
}
