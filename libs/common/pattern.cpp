#include "common/pattern.h"

#include <re2/re2.h>

namespace hisgate {

Result<Pattern> Pattern::compile(std::string_view expression) {
    RE2::Options options;
    options.set_log_errors(false);  // the error is returned, not printed
    auto re = std::make_shared<const re2::RE2>(re2::StringPiece(expression.data(), expression.size()), options);
    if (!re->ok()) return make_error(ErrorClass::BadInput, "pattern.invalid", re->error());
    return Pattern(std::move(re));
}

bool Pattern::full_match(std::string_view text) const {
    return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool Pattern::search(std::string_view text) const {
    return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

const std::string& Pattern::expression() const { return re_->pattern(); }

}  // namespace hisgate
