#include "controlplane/portal/rate_limit.h"

namespace hisgate::controlplane::portal {

std::optional<std::chrono::seconds> RateLimiter::take(const std::string& key, const RateLimit& limit) {
    std::lock_guard lock(mu_);
    const auto now = clock_.steady_now();
    auto it = windows_.find(key);
    if (it != windows_.end() && now - it->second.started >= it->second.length) {
        windows_.erase(it);
        it = windows_.end();
    }
    if (it == windows_.end()) {
        if (windows_.size() >= max_keys_)
            std::erase_if(windows_, [&](const auto& w) { return now - w.second.started >= w.second.length; });
        if (windows_.size() >= max_keys_) return limit.window;
        it = windows_.emplace(key, Window{now, limit.window, 0}).first;
    }
    if (it->second.count >= limit.max) {
        auto left = std::chrono::ceil<std::chrono::seconds>(it->second.started + it->second.length - now);
        return std::max(left, std::chrono::seconds(1));
    }
    ++it->second.count;
    return std::nullopt;
}

}  // namespace hisgate::controlplane::portal
