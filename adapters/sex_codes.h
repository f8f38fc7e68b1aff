// Patient sex as a HIS codes it (his.code_tables.sex: vendor code -> hisgate's male,
// female, other, unknown), read both ways. Both sides use it: the parameter rules to speak
// the HIS's codes, and his-sim to play a HIS that uses them.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace hisgate {

class SexCodes {
public:
    explicit SexCodes(std::map<std::string, std::string> vendor_to_hisgate);
    // HL7 table 0001 (M, F, O, U): the catalog's default, and how his-sim keeps sex.
    static const SexCodes& hl7_table_0001();

    // hisgate's code -> the HIS's; nullopt if the HIS has no code for it. Where several
    // vendor codes mean the same, the smallest of them is sent.
    std::optional<std::string> vendor(const std::string& hisgate_code) const;
    // The HIS's code -> hisgate's: "" for "", nullopt for a code not in the table.
    std::optional<std::string> hisgate(const std::string& vendor_code) const;

    // A code of `from`'s table in `to`'s ("" if either does not know it).
    static std::string recode(const std::string& code, const SexCodes& from, const SexCodes& to);

private:
    std::map<std::string, std::string> to_hisgate_;
    std::map<std::string, std::string> to_vendor_;
};

}  // namespace hisgate
