// A regular expression that input from outside may be matched against: RE2, whose time
// is linear in the input and which never recurses, so no id, however long, can exhaust
// the stack (std::regex recursed once per character). RE2's syntax is ECMAScript's
// without backreferences and lookaround; a pattern it cannot compile is refused when the
// parameter file or catalog that holds it is read.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace re2 {
class RE2;
}

namespace hisgate {

class Pattern {
public:
    // BadInput "pattern.invalid" with RE2's reason when `expression` does not compile.
    static Result<Pattern> compile(std::string_view expression);

    bool full_match(std::string_view text) const;  // the whole text
    bool search(std::string_view text) const;      // anywhere in the text
    const std::string& expression() const;

private:
    explicit Pattern(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
    std::shared_ptr<const re2::RE2> re_;  // immutable and thread-safe: copies share it
};

}  // namespace hisgate
