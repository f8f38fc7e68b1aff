#include "common/random_id.h"

#include <sys/random.h>

#include <cerrno>
#include <vector>

#include "common/check.h"

namespace hisgate {

std::string random_hex(size_t n_bytes) {
    std::vector<unsigned char> bytes(n_bytes);
    size_t got = 0;
    while (got < n_bytes) {
        ssize_t n = getrandom(bytes.data() + got, n_bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        HISGATE_CHECK(n > 0, "getrandom", n, "errno", errno);
        got += static_cast<size_t>(n);
    }
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(n_bytes * 2);
    bool all_zero = true;
    for (unsigned char b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
        all_zero = all_zero && b == 0;
    }
    if (all_zero && !out.empty()) out.back() = '1';
    return out;
}

}  // namespace hisgate
