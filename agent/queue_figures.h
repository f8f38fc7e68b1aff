// Backlog and dwell: how many tasks wait per business, how old the oldest is, and how
// long tasks spent from admission to answer (p50, p99 over the last few minutes).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

namespace hisgate::agent {

struct BusinessFigures {
    int depth = 0;               // unfinished tasks
    double oldest_seconds = 0;   // age of the oldest unfinished task
    double dwell_p50_seconds = 0;
    double dwell_p99_seconds = 0;
    int finished_recently = 0;   // tasks the dwell figures are over
};

struct QueueFigures {
    std::map<std::string, BusinessFigures> businesses;
    int depth = 0;
    double oldest_seconds = 0;
    double dwell_p99_seconds = 0;  // the worst business's

    nlohmann::json to_json() const;
    // Sets the /metrics gauges (hisgate_agent_queue_*).
    void publish_metrics() const;

    // Keeps what the figures are computed from. Not thread-safe: the queue guards it.
    class Tracker {
    public:
        static constexpr int64_t kDwellWindowMs = 5 * 60 * 1000;
        static constexpr size_t kDwellSamples = 4096;  // per business

        // Tasks are known by their store row: an integer key, no string copies per task.
        void admitted(int64_t row, const std::string& business, int64_t created_ms);
        void finished(int64_t row, int64_t finished_ms);
        size_t live() const { return live_.size(); }
        QueueFigures figures(int64_t now_ms) const;

    private:
        struct Business;
        struct Live {
            Business* business;  // a node of businesses_, which never moves
            int64_t created_ms;
        };
        struct Dwell {
            int64_t finished_ms;
            int64_t dwell_ms;
        };
        // Kept as tasks come and go, so figures() costs O(businesses + samples), never a
        // walk over every waiting task (10,000s in a burst) under the queue's lock.
        struct Business {
            std::map<int64_t, int> waiting_since;  // created_ms -> unfinished tasks
            int depth = 0;
            std::deque<Dwell> dwell;
        };
        std::unordered_map<int64_t, Live> live_;
        std::map<std::string, Business> businesses_;
    };
};

}  // namespace hisgate::agent
