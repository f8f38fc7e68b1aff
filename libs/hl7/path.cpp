#include "hl7/path.h"

namespace hisgate::hl7 {

namespace {

class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool at_end() const { return pos_ == text_.size(); }
    bool accept(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool number(std::size_t& out) {
        std::size_t start = pos_, v = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9' && v <= kMaxPathIndex) {
            v = v * 10 + static_cast<std::size_t>(text_[pos_] - '0');
            ++pos_;
        }
        if (pos_ == start || v == 0 || v > kMaxPathIndex) return false;
        out = v;
        return true;
    }
    Error fail(std::string_view expected) const {
        return make_error(ErrorClass::BadInput, "hl7.path",
                          "path '" + std::string(text_) + "' at character " + std::to_string(pos_ + 1) + ": expected " +
                              std::string(expected));
    }
    std::string_view take(std::size_t n) {
        std::string_view s = text_.substr(pos_, n);
        pos_ += s.size();
        return s;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

bool segment_id(std::string_view s) {
    if (s.size() != 3) return false;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    return true;
}

}  // namespace

Result<Path> parse_path(std::string_view text) {
    Reader r(text);
    Path p;
    std::string_view seg = r.take(3);
    if (!segment_id(seg)) return Reader(text).fail("a segment ID of three letters or digits, such as PID");
    p.segment = std::string(seg);
    const char* index_range = "a number from 1 to 9999";
    if (r.accept('[') && !(r.number(p.occurrence) && r.accept(']'))) return r.fail("a segment occurrence such as [2]");
    if (!r.accept('-') || !r.number(p.field)) return r.fail(std::string("'-' and a field number, ") + index_range);
    if (r.accept('(') && !(r.number(p.repetition) && r.accept(')'))) return r.fail("a repetition such as (2)");
    if (r.accept('-')) {
        if (!r.number(p.component)) return r.fail(std::string("a component number, ") + index_range);
        if (r.accept('-') && !r.number(p.subcomponent))
            return r.fail(std::string("a subcomponent number, ") + index_range);
    }
    if (!r.at_end()) return r.fail("the end of the path");
    return p;
}

}  // namespace hisgate::hl7
