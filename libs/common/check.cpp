#include "common/check.h"

#include <cstdio>
#include <cstdlib>

#include "common/log.h"

namespace hisgate::check_detail {

void fail(const char* condition, const char* file, int line, const std::string& values) {
    // stderr first: the log may be what is broken.
    std::fprintf(stderr, "invariant violated: %s at %s:%d%s\n", condition, file, line, values.c_str());
    std::fflush(stderr);
    log::error("invariant.violated", {{"condition", condition}, {"file", file}, {"line", line}, {"values", values}});
    std::abort();
}

}  // namespace hisgate::check_detail
