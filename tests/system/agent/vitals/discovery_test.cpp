// Discovery: announcements from the ward networks are followed; one from elsewhere is
// dropped and counted, and its monitors are never connected to.
#include <catch2/catch.hpp>

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("vitals discovery: a monitor announcing from a ward network is connected, one announcing from elsewhere is dropped and counted") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    // Beds 1-2 announce from 127.0.0.1 (the ward network); beds 101-102 from 127.0.0.9,
    // which is not on it (their own address, 127.0.0.1, would be).
    auto& inside = ward.add_sim("inside");
    auto& outside = ward.add_sim("outside", {{"first_bed", 101}, {"discovery", {{"source", "127.0.0.9"}}}});

    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0 && ward.samples("MON-0002") > 0; }, 30s));
    REQUIRE(test::eventually(
        [&] { return ward.metric("hisgate_vitals_announcements_total{outcome=\"not_ward_network\"}") >= 3; }, 30s));
    // The outside monitors kept announcing all along, and were never connected to.
    CHECK(outside.status()["announcements"].get<int64_t>() > 0);
    CHECK(outside.monitor("MON-0101")["connections"] == 0);
    CHECK(outside.monitor("MON-0102")["connections"] == 0);
    CHECK(ward.samples("MON-0101") == 0);
    CHECK(inside.monitor("MON-0001")["connections"].get<int64_t>() >= 1);
    CHECK(ward.metric("hisgate_vitals_announcements_total{outcome=\"admitted\"}") >= 2);
    // Logged at most once a minute, however many were dropped.
    auto log = ward.agent_log();
    std::size_t lines = 0;
    for (auto at = log.find("announcement_not_ward_network"); at != std::string::npos;
         at = log.find("announcement_not_ward_network", at + 1))
        ++lines;
    CHECK(lines == 1);
}

TEST_CASE("vitals discovery: datagrams that are not announcements are dropped and counted") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    // A device on the ward network sending nonsense, and an announcement naming an address
    // outside it: neither is followed.
    Poco::Net::DatagramSocket udp;
    udp.bind(Poco::Net::SocketAddress("127.0.0.1", 0));
    Poco::Net::SocketAddress to("127.0.0.1", ward.discovery_port());
    std::string junk(2000, 'x');
    std::string elsewhere =
        R"({"v":1,"device":"MON-9","model":"PM-9000","bed":"BED-9","address":"10.1.2.3","port":4601})";
    REQUIRE(test::eventually(
        [&] {
            udp.sendTo("not json", 8, to);
            udp.sendTo(junk.data(), static_cast<int>(junk.size()), to);
            udp.sendTo(elsewhere.data(), static_cast<int>(elsewhere.size()), to);
            return ward.metric("hisgate_vitals_announcements_total{outcome=\"bad\"}") >= 2 &&
                   ward.metric("hisgate_vitals_announcements_total{outcome=\"not_ward_network\"}") >= 1;
        },
        30s));
    CHECK(ward.metric("hisgate_vitals_monitors") == 0);
}
