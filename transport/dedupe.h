// Remembers the answers to the last N message ids, so a QoS 1 duplicate is recognised
// and answered the same way instead of being acted on twice. Bounded: the oldest id is
// forgotten first. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace hisgate {

class Dedupe {
public:
    explicit Dedupe(size_t capacity = 10000) : capacity_(capacity) {}

    // The answer given to `id`, if it is still remembered.
    std::optional<std::string> answer_for(const std::string& id) const {
        std::lock_guard lock(mu_);
        auto it = answers_.find(id);
        if (it == answers_.end()) return std::nullopt;
        return it->second;
    }

    void remember(const std::string& id, std::string answer) {
        std::lock_guard lock(mu_);
        if (!answers_.emplace(id, std::move(answer)).second) return;
        order_.push_back(id);
        if (order_.size() > capacity_) {
            answers_.erase(order_.front());
            order_.pop_front();
        }
    }

private:
    mutable std::mutex mu_;
    size_t capacity_;
    std::deque<std::string> order_;
    std::unordered_map<std::string, std::string> answers_;
};

}  // namespace hisgate
