// Errors are values: a class that says who can act on it, a stable code, and a
// message for humans (what, where, what was expected). No PHI in messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace hisgate {

enum class ErrorClass {
    BadInput,     // the caller sent something malformed; retrying will not help
    NotFound,     // the thing named does not exist
    Config,       // a configuration or parameter file is wrong; hospital IT fixes it
    Unavailable,  // a peer (HIS, broker) is down or refused; retry later
    Timeout,      // a peer did not answer in time; the outcome may be unknown
    Protocol,     // a peer answered something we cannot understand
    Rejected,     // a peer understood and said no
    Internal,     // our bug
};

std::string_view to_string(ErrorClass c);
// The class named by to_string(); Internal for a name that is not one.
ErrorClass error_class_from_string(std::string_view s);

struct Error {
    ErrorClass cls = ErrorClass::Internal;
    std::string code;     // stable, machine-readable, e.g. "hl7.bad_msh"
    std::string message;  // human-readable

    std::string describe() const;  // "code: message"
};

inline Error make_error(ErrorClass cls, std::string code, std::string message) {
    return Error{cls, std::move(code), std::move(message)};
}

// Result<T> holds either a T or an Error. Accessing the wrong side is a bug: an always-on
// check (common/check.h) stops the process instead of reading a variant that is not there.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { HISGATE_CHECK(ok(), "error", std::get<1>(v_).describe()); return std::get<0>(v_); }
    const T& value() const& { HISGATE_CHECK(ok(), "error", std::get<1>(v_).describe()); return std::get<0>(v_); }
    // By value, not T&&: `for (auto& x : f().value())` would otherwise walk a vector inside
    // a Result destroyed before the loop's first step (it did, in three ledger tests).
    T value() && { HISGATE_CHECK(ok(), "error", std::get<1>(v_).describe()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { HISGATE_CHECK(!ok(), "result", "a value, not an error"); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)) {}

    bool ok() const { return !err_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { HISGATE_CHECK(!ok(), "result", "success, not an error"); return *err_; }

private:
    std::optional<Error> err_;
};

}  // namespace hisgate
