#include "controlplane/portal/resident_id.h"

#include <chrono>

namespace hisgate::controlplane::portal {

namespace {
bool all_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}
int number_of(std::string_view digits) {
    int n = 0;
    for (char c : digits) n = n * 10 + (c - '0');
    return n;
}
Error bad(const char* code, const std::string& why) { return make_error(ErrorClass::BadInput, code, why); }
}  // namespace

Result<void> check_phone(std::string_view phone) {
    if (phone.size() != 11 || !all_digits(phone) || phone[0] != '1')
        return bad("auth.bad_phone", "a mobile number is 11 digits starting with 1");
    return {};
}

std::string mask_phone(std::string_view phone) {
    if (phone.size() != 11) return "****";
    return std::string(phone.substr(0, 3)) + "****" + std::string(phone.substr(7));
}

char resident_id_check_char(std::string_view first17) {
    static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static constexpr char kChecks[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    int sum = 0;
    for (size_t i = 0; i < 17 && i < first17.size(); ++i) sum += (first17[i] - '0') * kWeights[i];
    return kChecks[sum % 11];
}

Result<void> check_resident_id(std::string_view id, std::string_view today) {
    if (id.size() != 18) return bad("id.length", "a resident ID number is 18 characters");
    auto first17 = id.substr(0, 17);
    char last = id[17] == 'x' ? 'X' : id[17];
    if (!all_digits(first17) || !((last >= '0' && last <= '9') || last == 'X'))
        return bad("id.characters", "a resident ID number is 17 digits and a final digit or X");
    if (id[0] == '0') return bad("id.region", "the first 6 digits are the region of registration, which never starts with 0");
    using namespace std::chrono;
    year_month_day birth{year{number_of(id.substr(6, 4))}, month{static_cast<unsigned>(number_of(id.substr(10, 2)))},
                         day{static_cast<unsigned>(number_of(id.substr(12, 2)))}};
    if (!birth.ok() || birth.year() < year{1900} || std::string_view(id.substr(6, 8)) > today)
        return bad("id.birth_date", "digits 7 to 14 are the birth date (YYYYMMDD), and that is not a real past date");
    if (resident_id_check_char(first17) != last)
        return bad("id.checksum", "the last character does not match the others (a digit was mistyped)");
    return {};
}

Result<void> check_person_name(std::string_view name) {
    if (name.empty()) return bad("name.empty", "the name is empty");
    size_t chars = 0;
    for (size_t i = 0; i < name.size();) {
        auto c = static_cast<unsigned char>(name[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > name.size()) return bad("name.characters", "the name is not valid UTF-8");
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(name[i + k]) & 0xC0) != 0x80)
                return bad("name.characters", "the name is not valid UTF-8");
        if (n == 1 && (c < 0x20 || c == 0x7F)) return bad("name.characters", "the name has a control character");
        i += n;
        if (++chars > 50) return bad("name.too_long", "a name is at most 50 characters");
    }
    return {};
}

Result<void> check_email(std::string_view email) {
    auto at = email.find('@');
    bool ok = email.size() >= 3 && email.size() <= 254 && at != std::string_view::npos && at > 0 &&
              at + 1 < email.size() && email.find('@', at + 1) == std::string_view::npos;
    for (char c : email)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',' || c == ';') ok = false;
    if (!ok) return bad("email.invalid", "an email address is name@domain, 3 to 254 characters, without spaces");
    return {};
}

}  // namespace hisgate::controlplane::portal
