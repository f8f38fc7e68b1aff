#include "adapters/his_values.h"

#include <charconv>

#include "adapters/money.h"

namespace hisgate {

std::string report_status_name(const std::string& code) {
    return code == "F" ? "final" : code == "P" ? "preliminary" : code == "C" ? "corrected" : code;
}

std::string iso_timestamp(const std::string& ts) {
    if (ts.size() != 14 || ts.find_first_not_of("0123456789") != std::string::npos) return ts;
    return ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2) + "T" + ts.substr(8, 2) + ":" +
           ts.substr(10, 2) + ":" + ts.substr(12, 2);
}

std::optional<int> whole_number(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

Error unreadable_answer(const std::string& what, const std::string& detail) {
    return make_error(ErrorClass::Protocol, "his.unreadable_answer", what + ": " + detail);
}

Error mismatched_answer(const std::string& what, const std::string& field) {
    return make_error(ErrorClass::Protocol, "his.mismatched_answer",
                      what + ": the answer names another " + field + " than the request (a stale or misrouted answer)");
}

Result<ScheduleSlot> slot_with_numbers(ScheduleSlot slot, std::string_view capacity, std::string_view booked,
                                       std::string_view fee_decimal) {
    auto c = whole_number(capacity);
    auto b = whole_number(booked);
    auto fee = decimal_to_cents(fee_decimal);
    if (!c || !b || !fee)
        return unreadable_answer("reference data", "slot " + slot.slot_id + " has a non-numeric capacity, count or fee");
    slot.capacity = *c;
    slot.booked = *b;
    slot.fee_cents = *fee;
    return slot;
}

}  // namespace hisgate
