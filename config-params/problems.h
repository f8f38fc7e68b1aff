// Problems found in a parameter file or a catalog, collected so that all of them are
// reported at once, each on one line: "<source>: <json path>: expected <what>, found <what>".
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::params {

struct Problem {
    std::string path;  // "his.hl7.version", "probes[2]", "line 3, column 7"
    std::string expected;
    std::string found;
};

class Problems {
public:
    void add(std::string path, std::string expected, std::string found) {
        list_.push_back({std::move(path), std::move(expected), std::move(found)});
    }
    bool empty() const { return list_.empty(); }
    size_t size() const { return list_.size(); }
    const std::vector<Problem>& list() const { return list_; }

    // Every problem, one per line, each prefixed with "<source>: ".
    std::string lines(const std::string& source) const;
    // A Config error whose message is lines(source).
    Error to_error(const std::string& code, const std::string& source) const;

private:
    std::vector<Problem> list_;
};

}  // namespace hisgate::params
