// The partition map: ID card (with its check digit), phone prefix, the hospital's region as
// the last resort, epochs, and the operator's prefix file.
#include <catch2/catch.hpp>

#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using test_util::id_card;

namespace {
PhonePrefixTable sample_prefixes() {
    auto t = PhonePrefixTable::parse("# test\n1382000,44\n1380000,11\n138,31\n");
    REQUIRE(t);
    return std::move(t.value());
}
}  // namespace

TEST_CASE("partition map: the ID card's check digit is ISO 7064 MOD 11-2") {
    // The standard's worked example: 11010519491231002 → X.
    CHECK(id_card_check_char("11010519491231002") == 'X');
    CHECK(province_of_id_card("11010519491231002X").value() == "11");
    CHECK(province_of_id_card("11010519491231002x").value() == "11");
    std::string good = id_card("44");
    CHECK(province_of_id_card(good).value() == "44");
    std::string wrong = good;
    wrong[17] = wrong[17] == '0' ? '1' : '0';
    auto r = province_of_id_card(wrong);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "partition.bad_id_card");
    CHECK(r.error().message.find("check digit") != std::string::npos);
    CHECK(r.error().message.find(wrong.substr(0, 6)) == std::string::npos);  // never repeats the number
    CHECK(province_of_id_card("4401").error().message.find("4 characters; expected 18") != std::string::npos);
    CHECK(province_of_id_card("44010219900101A23X").error().message.find("character 15") != std::string::npos);
    std::string unknown = "99" + good.substr(2, 15);
    unknown += id_card_check_char(unknown);
    CHECK(province_of_id_card(unknown).error().message.find("province code") != std::string::npos);
    std::string bad_date = "440102" + std::string("19901301") + "123";
    bad_date += id_card_check_char(bad_date);
    CHECK(province_of_id_card(bad_date).error().message.find("birth date") != std::string::npos);
}

TEST_CASE("partition map: routes by ID card, else phone prefix, else the hospital's province, with the epoch") {
    PartitionMap map = initial_partition_map();
    REQUIRE(map.validate());
    auto prefixes = sample_prefixes();
    auto by_card = route(map, prefixes, {.id_card = id_card("11"), .phone = "13820001234", .hospital_province = "44"});
    REQUIRE(by_card);
    CHECK(by_card->partition == "north");
    CHECK(by_card->province == "11");
    CHECK(by_card->source == "id_card");
    CHECK(by_card->epoch == 1);
    auto by_phone = route(map, prefixes, {.phone = "+8613820001234", .hospital_province = "11"});
    REQUIRE(by_phone);
    CHECK(by_phone->province == "44");  // the longest prefix, 1382000, wins over 138
    CHECK(by_phone->partition == "south");
    CHECK(by_phone->source == "phone");
    CHECK(route(map, prefixes, {.phone = "13855551234", .hospital_province = "11"})->province == "31");
    auto fallback = route(map, prefixes, {.phone = "15900001111", .hospital_province = "37"});
    REQUIRE(fallback);
    CHECK(fallback->source == "hospital");
    CHECK(fallback->partition == "north");
    CHECK(route(map, prefixes, {.hospital_province = "44"})->partition == "south");
    // Malformed input is refused, not routed by the next rule.
    CHECK(route(map, prefixes, {.id_card = "123", .hospital_province = "44"}).error().code == "partition.bad_id_card");
    CHECK(route(map, prefixes, {.phone = "1234", .hospital_province = "44"}).error().code == "partition.bad_phone");
    CHECK(route(map, prefixes, {.hospital_province = "00"}).error().code == "partition.bad_hospital_province");
}

TEST_CASE("partition map: the operator's prefix file loads, and a bad line names its file and line") {
    auto shipped = PhonePrefixTable::load(HISGATE_SOURCE_DIR "/controlplane/ledger/data/phone_prefixes.csv");
    REQUIRE(shipped);
    CHECK(shipped->size() >= 30);
    CHECK(shipped->province_of("13822661234").value() == "44");
    auto bad = PhonePrefixTable::parse("1380000,11\n\n1380001,99\n", "p.csv");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("p.csv line 3") != std::string::npos);
    CHECK(PhonePrefixTable::parse("23800,11").error().message.find("starting with 1") != std::string::npos);
    CHECK(PhonePrefixTable::parse("1380000;11").error().code == "partition.bad_prefix_line");
    CHECK(PhonePrefixTable::parse("1380000,11\n1380000,44").error().message.find("twice") != std::string::npos);
    CHECK(PhonePrefixTable::load("/nonexistent/prefixes.csv").error().cls == ErrorClass::Config);
}

TEST_CASE("partition map: a new map has the next epoch, is persisted, and a stale publish is refused") {
    std::string path = test::make_temp_dir("partition-map") + "/maps.db";
    {
        auto store = open_sqlite_partition_map_store(path);
        REQUIRE(store);
        auto first = (*store)->current();
        REQUIRE(first);
        CHECK(first->epoch == 1);
        auto moved = first->partition_of_province;
        moved["44"] = "south-a";
        moved["45"] = "south-a";
        auto second = (*store)->publish(1, moved, 1000);
        REQUIRE(second);
        CHECK(second->epoch == 2);
        auto stale = (*store)->publish(1, moved, 2000);
        REQUIRE_FALSE(stale);
        CHECK(stale.error().code == "partition_map.stale_epoch");
        auto incomplete = moved;
        incomplete.erase("11");
        CHECK((*store)->publish(2, incomplete, 3000).error().code == "partition_map.incomplete");
        auto bad_name = moved;
        bad_name["11"] = "North!";
        CHECK((*store)->publish(2, bad_name, 3000).error().code == "partition_map.bad_partition");
    }
    auto store = open_sqlite_partition_map_store(path);
    REQUIRE(store);
    auto now = (*store)->current();
    REQUIRE(now);
    CHECK(now->epoch == 2);
    CHECK(now->partition_of_province.at("44") == "south-a");
    CHECK(now->partitions() == std::vector<std::string>{"north", "south", "south-a"});
    CHECK((*store)->at_epoch(1)->partition_of_province.at("44") == "south");
    CHECK((*store)->at_epoch(7).error().code == "partition_map.unknown_epoch");
    auto r = route(*now, PhonePrefixTable(), {.id_card = id_card("44"), .hospital_province = "11"});
    REQUIRE(r);
    CHECK(r->partition == "south-a");
    CHECK(r->epoch == 2);
}
