// The one table of request types: what the agent admits, dispatches and advertises.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "agent/diagnostics.h"
#include "agent/request_types.h"
#include "config-params/param_set.h"
#include "tests/support/process.h"

using namespace hisgate::agent;

TEST_CASE("request types: one row per name, each with its handler; the birth message advertises exactly the rows") {
    std::set<std::string> names, changing;
    for (const auto& t : request_types()) {
        INFO(t.name);
        CHECK(names.insert(std::string(t.name)).second);
        CHECK(t.handler != nullptr);
        CHECK(find_request_type(t.name) == &t);
        if (t.changes_his) changing.insert(std::string(t.name));
    }
    CHECK(changing == std::set<std::string>{"appointment.book", "appointment.cancel", "appointment.revoke", "payment.pay",
                                            "payment.refund", "payment.revoke"});
    CHECK(find_request_type("report.get")->cls == TaskClass::Deferred);
    CHECK(find_request_type("payment.status")->cls == TaskClass::RealTime);
    CHECK(find_request_type("surgery.schedule") == nullptr);

    auto advertised = advertised_capabilities();
    REQUIRE(advertised.size() == request_types().size());
    for (size_t i = 0; i < advertised.size(); ++i) {
        const auto& row = request_types()[i];
        CHECK(advertised[i]["type"] == std::string(row.name));
        CHECK(advertised[i]["class"] == to_string(row.cls));
        CHECK(advertised[i]["changesHis"] == row.changes_his);
    }
}

TEST_CASE("request types: params.get answers the parameter file with the hash the birth advertises") {
    const std::string dir = hisgate::test::make_temp_dir("hisgate-params-get");
    const std::string example = std::string(HISGATE_SOURCE_DIR) + "/config-params/examples/south-hl7-gb18030.json";
    const auto& catalog = hisgate::params::Catalog::builtin();
    REQUIRE(catalog);
    auto set = hisgate::params::ParamSet::load_file(*catalog, example);
    REQUIRE(set);
    Diagnostics d;
    d.params_file = example;
    auto got = parameter_file_of(d);
    REQUIRE(got);
    CHECK((*got)["paramsHash"] == set->hash());
    CHECK((*got)["params"]["hospital"]["id"] == set->string("hospital.id"));
    CHECK(find_request_type("params.get")->cls == TaskClass::RealTime);
    CHECK_FALSE(find_request_type("params.get")->changes_his);
    d.params_file = "";
    CHECK(parameter_file_of(d).error().code == "params.none");
    d.params_file = dir + "/missing.json";
    CHECK(parameter_file_of(d).error().code == "params.unreadable");
    hisgate::test::write_file(dir + "/bad.json", "[1, 2");
    d.params_file = dir + "/bad.json";
    CHECK(parameter_file_of(d).error().code == "params.invalid");
    std::system(("rm -rf " + dir).c_str());
}
