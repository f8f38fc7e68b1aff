#include "transport/backoff.h"

#include <algorithm>

namespace hisgate {

std::chrono::milliseconds jittered_backoff(int attempt, std::chrono::milliseconds min, std::chrono::milliseconds max,
                                           std::mt19937& rng) {
    auto cap = min.count() << std::clamp(attempt, 0, 16);
    cap = std::min<long long>(cap, max.count());
    std::uniform_int_distribution<long long> pick(min.count(), std::max<long long>(cap, min.count()));
    return std::chrono::milliseconds(pick(rng));
}

}  // namespace hisgate
