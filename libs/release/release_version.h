// A release's version: "MAJOR.MINOR.PATCH" with an optional pre-release ("1.4.0-rc.2"),
// ordered as semantic versioning orders them (a pre-release sorts before its release;
// numeric identifiers compare as numbers, others as text, numbers before text). Build
// metadata ("+...") is refused: two releases that differ only there would be one version.
//
// Bounded: at most kMaxVersionLength characters, each number at most 999999, at most 8
// pre-release identifiers; a version from a manifest is input from outside.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::release {

inline constexpr std::size_t kMaxVersionLength = 64;

struct ReleaseVersion {
    uint32_t major = 0;
    uint32_t minor = 0;
    uint32_t patch = 0;
    std::vector<std::string> pre;  // pre-release identifiers; empty for a release

    std::string to_string() const;
    std::strong_ordering operator<=>(const ReleaseVersion& other) const;
    bool operator==(const ReleaseVersion& other) const { return (*this <=> other) == 0; }
};

// release.bad_version (BadInput) naming what is wrong.
Result<ReleaseVersion> parse_version(std::string_view text);

}  // namespace hisgate::release
