#include "controlplane/ledger/partition_map.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace hisgate::ledger {

const std::vector<std::string>& provinces() {
    static const std::vector<std::string> codes = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                                                   "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                                                   "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"};
    return codes;
}

bool known_province(std::string_view code) {
    const auto& all = provinces();
    return std::find(all.begin(), all.end(), code) != all.end();
}

char id_card_check_char(std::string_view first17) {
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (size_t i = 0; i < 17 && i < first17.size(); ++i) sum += (first17[i] - '0') * weights[i];
    return "10X98765432"[sum % 11];
}

Result<std::string> province_of_id_card(std::string_view card) {
    auto bad = [](const std::string& what) {
        return make_error(ErrorClass::BadInput, "partition.bad_id_card", "idCard: " + what);
    };
    if (card.size() != 18)
        return bad(std::to_string(card.size()) + " characters; expected 18 (17 digits and a check digit or X)");
    for (size_t i = 0; i < 17; ++i)
        if (card[i] < '0' || card[i] > '9')
            return bad("character " + std::to_string(i + 1) + " is not a digit; expected 17 digits first");
    char last = card[17] == 'x' ? 'X' : card[17];
    if (!((last >= '0' && last <= '9') || last == 'X')) return bad("character 18 is not a digit or X");
    std::string province(card.substr(0, 2));
    if (!known_province(province)) return bad("characters 1-2 are not a GB/T 2260 province code");
    int month = (card[10] - '0') * 10 + (card[11] - '0');
    int day = (card[12] - '0') * 10 + (card[13] - '0');
    int year = std::stoi(std::string(card.substr(6, 4)));
    if (year < 1880 || month < 1 || month > 12 || day < 1 || day > 31)
        return bad("characters 7-14 are not a birth date YYYYMMDD");
    if (id_card_check_char(card.substr(0, 17)) != last)
        return bad("the check digit (character 18) does not match the first 17 (ISO 7064 MOD 11-2)");
    return province;
}

Result<PhonePrefixTable> PhonePrefixTable::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error(ErrorClass::Config, "partition.prefixes_unreadable", path + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

Result<PhonePrefixTable> PhonePrefixTable::parse(std::string_view text, const std::string& source) {
    PhonePrefixTable table;
    size_t line_no = 0, pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (line.empty()) continue;
        auto where = source + " line " + std::to_string(line_no) + ": ";
        size_t comma = line.find(',');
        if (comma == std::string_view::npos)
            return make_error(ErrorClass::Config, "partition.bad_prefix_line", where + "expected prefix,province");
        std::string prefix(line.substr(0, comma)), province(line.substr(comma + 1));
        bool digits = prefix.size() >= 3 && prefix.size() <= 7 && prefix[0] == '1' &&
                      std::all_of(prefix.begin(), prefix.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits)
            return make_error(ErrorClass::Config, "partition.bad_prefix_line",
                              where + "prefix \"" + prefix + "\": expected 3 to 7 digits starting with 1");
        if (!known_province(province))
            return make_error(ErrorClass::Config, "partition.bad_prefix_line",
                              where + "province \"" + province + "\": expected a GB/T 2260 two-digit code");
        auto [it, fresh] = table.by_prefix_.emplace(prefix, province);
        if (!fresh && it->second != province)
            return make_error(ErrorClass::Config, "partition.bad_prefix_line",
                              where + "prefix " + prefix + " is listed twice with different provinces");
        if (pos > text.size()) break;
    }
    return table;
}

Result<std::string> PhonePrefixTable::province_of(std::string_view phone) const {
    if (phone.starts_with("+86")) phone.remove_prefix(3);
    else if (phone.size() == 13 && phone.starts_with("86")) phone.remove_prefix(2);
    bool shape = phone.size() == 11 && phone[0] == '1' &&
                 std::all_of(phone.begin(), phone.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!shape)
        return make_error(ErrorClass::BadInput, "partition.bad_phone",
                          "phone: " + std::to_string(phone.size()) + " characters; expected an 11-digit mobile number starting with 1");
    for (size_t len = 7; len >= 3; --len) {
        auto it = by_prefix_.find(std::string(phone.substr(0, len)));
        if (it != by_prefix_.end()) return it->second;
    }
    return make_error(ErrorClass::NotFound, "partition.unknown_prefix", "phone: no prefix in the table matches");
}

std::vector<std::string> PartitionMap::partitions() const {
    std::set<std::string> names;
    for (const auto& [province, partition] : partition_of_province) names.insert(partition);
    return {names.begin(), names.end()};
}

Result<void> PartitionMap::validate() const {
    for (const auto& code : provinces())
        if (!partition_of_province.contains(code))
            return make_error(ErrorClass::Config, "partition_map.incomplete", "province " + code + " is assigned to no partition");
    for (const auto& [province, partition] : partition_of_province) {
        if (!known_province(province))
            return make_error(ErrorClass::Config, "partition_map.bad_province",
                              "\"" + province + "\" is not a GB/T 2260 province code");
        bool name_ok = !partition.empty() && partition.size() <= 32 &&
                       std::all_of(partition.begin(), partition.end(),
                                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
        if (!name_ok)
            return make_error(ErrorClass::Config, "partition_map.bad_partition",
                              "province " + province + ": partition name \"" + partition + "\"; expected 1-32 of a-z 0-9 -");
    }
    return {};
}

PartitionMap initial_partition_map() {
    static const std::set<std::string> north = {"11", "12", "13", "14", "15", "21", "22", "23",
                                                "37", "41", "61", "62", "63", "64", "65"};
    PartitionMap map;
    map.epoch = 1;
    for (const auto& code : provinces()) map.partition_of_province[code] = north.contains(code) ? "north" : "south";
    return map;
}

Result<Route> route(const PartitionMap& map, const PhonePrefixTable& prefixes, const PatientRegion& who) {
    Route r;
    r.epoch = map.epoch;
    if (!who.id_card.empty()) {
        auto province = province_of_id_card(who.id_card);
        if (!province) return province.error();
        r.province = *province;
        r.source = "id_card";
    } else if (!who.phone.empty()) {
        auto province = prefixes.province_of(who.phone);
        if (!province && province.error().code != "partition.unknown_prefix") return province.error();
        if (province) {
            r.province = *province;
            r.source = "phone";
        }
    }
    if (r.source.empty()) {
        if (!known_province(who.hospital_province))
            return make_error(ErrorClass::Config, "partition.bad_hospital_province",
                              "hospital province \"" + who.hospital_province + "\" is not a GB/T 2260 code");
        r.province = who.hospital_province;
        r.source = "hospital";
    }
    auto it = map.partition_of_province.find(r.province);
    if (it == map.partition_of_province.end())
        return make_error(ErrorClass::Internal, "partition_map.incomplete",
                          "province " + r.province + " has no partition in epoch " + std::to_string(map.epoch));
    r.partition = it->second;
    return r;
}

}  // namespace hisgate::ledger
