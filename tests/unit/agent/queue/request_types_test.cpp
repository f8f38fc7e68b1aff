// The one table of request types: what the agent admits, dispatches and advertises.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "agent/request_types.h"

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
    CHECK(changing == std::set<std::string>{"appointment.book", "appointment.cancel", "payment.pay", "payment.refund"});
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
