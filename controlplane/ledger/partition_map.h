// Which business partition a patient's transactions live in (docs/ledger.md, "Partition
// map").
//
// The partition follows the patient's province (a GB/T 2260 two-digit code): from the
// resident ID card's first two digits when there is a card; without one, from the mobile
// number's prefix through a prefix-to-province table that the operator maintains as a
// data file (load_phone_prefixes); else the hospital's own province. The map assigns
// each province to one partition (`south` and `north` to start) and is versioned by an
// epoch: a new map has the epoch after the current one, and every routing answer carries
// the epoch it was made under, which the transaction keeps.
//
// Invariants: a map assigns every province of kProvinces to exactly one partition; epochs
// only grow, by one; a malformed ID card or phone number is an error (never silently
// routed by the next rule); an ID card is accepted only with a correct ISO 7064 MOD 11-2
// check digit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::ledger {

// The province-level codes of GB/T 2260 (11 Beijing ... 82 Macau).
const std::vector<std::string>& provinces();
bool known_province(std::string_view code);

// The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') of an ID card's first 17 digits.
char id_card_check_char(std::string_view first17);
// The province of an 18-character resident ID card: 17 digits and a check character
// ('X' or 'x' for 10), a known province, a real birth date shape, the right check digit.
// Errors never repeat the number (it identifies a person).
Result<std::string> province_of_id_card(std::string_view id_card);

// prefix → province for mobile numbers: the longest stored prefix of the number wins.
class PhonePrefixTable {
public:
    // The operator's CSV file: one `prefix,province` a line (prefix 3 to 7 digits starting
    // with 1; province a GB/T 2260 code); '#' starts a comment; blank lines are skipped. An
    // error names the file and line.
    static Result<PhonePrefixTable> load(const std::string& path);
    static Result<PhonePrefixTable> parse(std::string_view text, const std::string& source = "prefixes");
    // The province of an 11-digit mobile number (an optional +86 or 86 before it): a
    // NotFound error when no prefix matches.
    Result<std::string> province_of(std::string_view phone) const;
    size_t size() const { return by_prefix_.size(); }

private:
    std::map<std::string, std::string> by_prefix_;
};

struct PartitionMap {
    int64_t epoch = 0;
    std::map<std::string, std::string> partition_of_province;  // "44" → "south"
    std::vector<std::string> partitions() const;
    // Every province assigned, each partition name 1-32 of a-z 0-9 '-'.
    Result<void> validate() const;
};

// The first map: the northern provinces (the Qinling–Huai line and above) to `north`,
// the rest to `south`. Epoch 1.
PartitionMap initial_partition_map();

// What a request names about where the patient is from; at least the hospital's province.
struct PatientRegion {
    std::string id_card;             // optional
    std::string phone;               // optional
    std::string hospital_province;   // required: the last resort
};

struct Route {
    std::string partition;
    std::string province;
    std::string source;   // "id_card", "phone" or "hospital"
    int64_t epoch = 0;    // the map's epoch this route was made under
};

Result<Route> route(const PartitionMap& map, const PhonePrefixTable& prefixes, const PatientRegion& who);

// The maps, persisted: the current one and every earlier epoch (a rollback returns to one).
class PartitionMapStore {
public:
    virtual ~PartitionMapStore() = default;
    // The map of the highest epoch; the initial map (epoch 1) when none was stored yet.
    virtual Result<PartitionMap> current() = 0;
    virtual Result<PartitionMap> at_epoch(int64_t epoch) = 0;
    // Stores `assignments` as the map of epoch base_epoch + 1, if base_epoch is still the
    // current epoch (else Rejected "partition_map.stale_epoch": someone published first).
    virtual Result<PartitionMap> publish(int64_t base_epoch, const std::map<std::string, std::string>& assignments,
                                         int64_t now_ms) = 0;
};

Result<std::unique_ptr<PartitionMapStore>> open_sqlite_partition_map_store(const std::string& path);

}  // namespace hisgate::ledger
