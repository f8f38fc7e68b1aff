// The FHIR facade's mappings (controlplane/fhir/fhir_resources.h, fhir_bundle.h) against
// golden files: a fixed hospital and doctor, applied to a real public-partition primary
// and read back through the facade's data interface (fhir_data.h), give exactly the
// resources in tests/unit/controlplane/fhir/*.json.
#include <catch2/catch.hpp>

#include <fstream>

#include "controlplane/fhir/fhir_bundle.h"
#include "controlplane/fhir/fhir_data.h"
#include "controlplane/fhir/fhir_resources.h"
#include "../../public_partition/primary_fixture.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {

nlohmann::json fhir_golden(const std::string& name) {
    std::ifstream in(std::string(HISGATE_SOURCE_DIR) + "/tests/unit/controlplane/fhir/" + name);
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

// The same JSON (key order aside); the dumps show the difference when not.
void check_fhir_golden(const nlohmann::json& actual, const std::string& name) {
    auto want = fhir_golden(name);
    INFO(name << "\nwant: " << want.dump(2) << "\ngot:  " << actual.dump(2));
    CHECK(actual == want);
}

nlohmann::json fhir_hospital_record(const std::string& id, const std::string& name, const std::string& region,
                                    const std::string& city) {
    return {{"entity", "hospital"}, {"op", "upsert"}, {"key", id},
            {"data", {{"hospitalId", id}, {"name", name}, {"region", region}, {"city", city}, {"level", "3A"}}}};
}

struct FhirFixture {
    test::public_partition::Primary p;
    std::unique_ptr<fhir::FhirData> data = fhir::primary_fhir_data(*p.primary);
    FhirFixture() {
        auto doctor = test::public_partition::doctor("D1", "王芳");
        doctor["data"]["specialty"] = "Cardiology";
        p.apply(test::public_partition::change_set(
            "H001", 1,
            {fhir_hospital_record("H001", "South General", "south", "Guangzhou"), doctor,
             test::public_partition::slot("S1", 1), test::public_partition::slot("S2", 4)}));
        p.apply(test::public_partition::change_set("H002", 1, {fhir_hospital_record("H002", "北方医院", "north", "Harbin")}));
    }
};

}  // namespace

TEST_CASE("fhir: a hospital and a doctor read from the primary map to their golden resources", "[fhir]") {
    FhirFixture f;
    auto h = f.data->hospital("H001");
    REQUIRE(h.ok());
    REQUIRE(h->has_value());
    check_fhir_golden(fhir::organization(**h), "organization_H001.json");

    auto d = f.data->doctor("H001", "D1");
    REQUIRE(d.ok());
    REQUIRE(d->has_value());
    check_fhir_golden(fhir::practitioner(**d), "practitioner_H001.D1.json");

    check_fhir_golden(fhir::schedule(**d), "schedule_H001.D1.json");

    auto slot = f.data->slot("H001", "S1");
    REQUIRE(slot.ok());
    REQUIRE(slot->has_value());
    check_fhir_golden(fhir::slot(**slot), "slot_H001.S1.json");
    auto full = f.data->slot("H001", "S2");
    REQUIRE(full.ok());
    REQUIRE(full->has_value());
    CHECK(fhir::slot(**full)["status"] == "busy");
    auto free_only = f.data->slots("H001", "D1", "2026-12-07", "2026-12-07", true, 10, "");
    REQUIRE(free_only.ok());
    REQUIRE(free_only->items.size() == 1);
    CHECK(fhir::slot(free_only->items[0])["id"] == "H001.S1");
    auto every = f.data->slots("H001", "D1", "2026-12-07", "", false, 10, "");
    REQUIRE(every.ok());
    CHECK(every->items.size() == 2);

    auto none = f.data->hospital("H404");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    auto no_doctor = f.data->doctor("H002", "D1");
    REQUIRE(no_doctor.ok());
    CHECK_FALSE(no_doctor->has_value());
}

TEST_CASE("fhir: a suspect hospital with no name or place is tagged and has no empty fields", "[fhir]") {
    check_fhir_golden(fhir::organization({{"hospitalId", "H009"}, {"suspect", true}}), "organization_suspect.json");
}

TEST_CASE("fhir: a searchset page links itself and the next page, its parameters encoded", "[fhir]") {
    nlohmann::json item = {{"hospitalId", "H001"}, {"name", "South General"}, {"region", "south"},
                           {"city", "Guangzhou"}, {"suspect", false}};
    auto b = fhir::searchset("https://fhir.example/fhir/r4", "Organization",
                             {{"_count", "1"}, {"address-state", "south coast"}}, {fhir::organization(item)}, "s1ab12");
    check_fhir_golden(b, "searchset_page.json");
    // The last page has no next link, and an empty page no entry array.
    auto last = fhir::searchset("", "Organization", {{"_count", "1"}}, {}, "");
    CHECK(last["link"].size() == 1);
    CHECK(last["link"][0]["url"] == "/fhir/r4/Organization?_count=1");
    CHECK_FALSE(last.contains("entry"));
}

TEST_CASE("fhir: the data interface pages hospitals by cursor and refuses a cursor of another search", "[fhir]") {
    FhirFixture f;
    auto first = f.data->hospitals("", 1, "");
    REQUIRE(first.ok());
    REQUIRE(first->items.size() == 1);
    CHECK(first->items[0]["hospitalId"] == "H001");
    REQUIRE_FALSE(first->next.empty());
    auto second = f.data->hospitals("", 1, first->next);
    REQUIRE(second.ok());
    REQUIRE(second->items.size() == 1);
    CHECK(second->items[0]["hospitalId"] == "H002");
    CHECK(second->next.empty());
    auto north = f.data->hospitals("north", 10, "");
    REQUIRE(north.ok());
    REQUIRE(north->items.size() == 1);
    CHECK(north->items[0]["hospitalId"] == "H002");
    // A cursor made under other filters.
    auto crossed = f.data->hospitals("north", 1, first->next);
    REQUIRE_FALSE(crossed.ok());
    CHECK(crossed.error().code == "fhir.bad_search");
    auto doctors = f.data->doctors("H001", 10, "");
    REQUIRE(doctors.ok());
    REQUIRE(doctors->items.size() == 1);
    CHECK(fhir::practitioner(doctors->items[0])["id"] == "H001.D1");
}

TEST_CASE("fhir: errors are OperationOutcomes and the CapabilityStatement lists what is served", "[fhir]") {
    check_fhir_golden(fhir::operation_outcome("invalid", "_count: expected 1 to 100"), "operation_outcome.json");
    const auto& cs = fhir::capability_statement();
    CHECK(cs["resourceType"] == "CapabilityStatement");
    CHECK(cs["fhirVersion"] == "4.0.1");
    CHECK(cs["format"] == nlohmann::json{"json"});
    std::vector<std::string> types;
    for (const auto& r : cs["rest"][0]["resource"]) types.push_back(r["type"].get<std::string>());
    CHECK(types == std::vector<std::string>{"Organization", "Practitioner", "Schedule", "Slot"});
    auto split = fhir::split_practitioner_id("H001.D1.x");
    REQUIRE(split);
    CHECK(split->first == "H001");
    CHECK(split->second == "D1.x");
    CHECK_FALSE(fhir::split_practitioner_id("H001"));
    CHECK_FALSE(fhir::split_practitioner_id(".D1"));
}
