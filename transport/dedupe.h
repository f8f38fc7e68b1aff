// Remembers the last N message ids seen, so a QoS 1 duplicate is recognised. Bounded:
// the oldest id is forgotten first. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

namespace hisgate {

class Dedupe {
public:
    explicit Dedupe(size_t capacity = 100000) : capacity_(capacity) {}

    // True the first time an id is seen; false for every repeat still remembered.
    bool first_time(const std::string& id) {
        std::lock_guard lock(mu_);
        if (!seen_.insert(id).second) return false;
        order_.push_back(id);
        if (order_.size() > capacity_) {
            seen_.erase(order_.front());
            order_.pop_front();
        }
        return true;
    }

private:
    std::mutex mu_;
    size_t capacity_;
    std::deque<std::string> order_;
    std::unordered_set<std::string> seen_;
};

}  // namespace hisgate
