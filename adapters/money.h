// HIS interfaces write money as a decimal string ("25.00"); the platform counts whole cents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hisgate {

std::string cents_to_decimal(int64_t cents);
// "25", "25.5", "25.50", "-3.07" -> cents; nullopt for anything else (never guessed).
std::optional<int64_t> decimal_to_cents(std::string_view text);

}  // namespace hisgate
