#include <catch2/catch.hpp>

#include "common/ip_range.h"

using hisgate::IpRange;

TEST_CASE("ip range: addresses and CIDR blocks, v4 and v6, and what is not one") {
    auto one = IpRange::parse("10.20.0.15");
    REQUIRE(one);
    CHECK(one->contains("10.20.0.15"));
    CHECK_FALSE(one->contains("10.20.0.16"));
    CHECK(one->contains("::ffff:10.20.0.15"));  // the IPv4-mapped form of the same peer

    auto block = IpRange::parse("10.20.1.0/24");
    REQUIRE(block);
    CHECK(block->contains("10.20.1.0"));
    CHECK(block->contains("10.20.1.255"));
    CHECK_FALSE(block->contains("10.20.2.0"));
    CHECK(IpRange::parse("10.20.1.9/20")->contains("10.20.15.1"));  // host bits ignored
    CHECK(IpRange::parse("0.0.0.0/0")->contains("192.0.2.1"));

    auto v6 = IpRange::parse("fd00::/8");
    REQUIRE(v6);
    CHECK(v6->contains("fd12:3456::1"));
    CHECK_FALSE(v6->contains("fe80::1"));
    CHECK_FALSE(v6->contains("10.20.1.1"));
    CHECK_FALSE(block->contains("fd00::1"));
    CHECK(IpRange::parse("::1")->contains("::1"));

    for (const char* bad : {"", "10.20.0.300", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/1a",
                            "his.example", "10.0.0.0/8/8", " 10.0.0.1", "::1/0000"}) {
        INFO(bad);
        CHECK_FALSE(IpRange::parse(bad));
    }
    CHECK_FALSE(block->contains("not an address"));
    CHECK_FALSE(block->contains(std::string(100000, '1')));
}

TEST_CASE("ip range: an empty list admits every peer, a list only its own") {
    CHECK(hisgate::admitted({}, "203.0.113.9"));
    std::vector<IpRange> list = {*IpRange::parse("127.0.0.1"), *IpRange::parse("10.0.0.0/8")};
    CHECK(hisgate::admitted(list, "127.0.0.1"));
    CHECK(hisgate::admitted(list, "10.9.8.7"));
    CHECK_FALSE(hisgate::admitted(list, "127.0.0.2"));
    CHECK_FALSE(hisgate::admitted(list, ""));
}
