// Always-on invariant checks. HISGATE_CHECK(cond, values...) is for conditions that must
// never be false whatever the input: a stored state code the program knows, a counter that
// never goes negative, one writer per file. When one is false the program is wrong and
// going on would corrupt durable state, so it logs the invariant, where it is and the values
// given, and aborts. Unlike assert(), it is compiled in every build type, tests and release
// alike. Never use it for input from outside: that is an Error value (common/error.h).
//
//   HISGATE_CHECK(in_flight_ >= 0, "in_flight", in_flight_);
//   HISGATE_CHECK_EQ(sqlite3_changes(db), 1, "row", row);
#pragma once

#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

namespace hisgate::check_detail {

[[noreturn]] void fail(const char* condition, const char* file, int line, const std::string& values);

inline void append(std::ostringstream&) {}
template <class Name, class Value, class... Rest>
void append(std::ostringstream& out, const Name& name, const Value& value, const Rest&... rest) {
    out << ' ' << name << '=' << value;
    append(out, rest...);
}
template <class... NamedValues>
std::string describe(const NamedValues&... named_values) {
    static_assert(sizeof...(NamedValues) % 2 == 0, "HISGATE_CHECK takes name, value pairs after the condition");
    std::ostringstream out;
    append(out, named_values...);
    return out.str();
}

}  // namespace hisgate::check_detail

#define HISGATE_CHECK(condition, ...)                                                             \
    do {                                                                                          \
        if (!(condition)) [[unlikely]]                                                            \
            ::hisgate::check_detail::fail(#condition, __FILE__, __LINE__,                         \
                                          ::hisgate::check_detail::describe(__VA_ARGS__));        \
    } while (0)

#define HISGATE_CHECK_EQ(a, b, ...)                                                               \
    do {                                                                                          \
        const auto& check_a_ = (a);                                                               \
        const auto& check_b_ = (b);                                                               \
        if (!(check_a_ == check_b_)) [[unlikely]]                                                 \
            ::hisgate::check_detail::fail(#a " == " #b, __FILE__, __LINE__,                       \
                                          ::hisgate::check_detail::describe(                      \
                                              "left", check_a_, "right", check_b_ __VA_OPT__(, ) __VA_ARGS__)); \
    } while (0)
