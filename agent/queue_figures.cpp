#include "agent/queue_figures.h"

#include <algorithm>
#include <vector>

#include "common/metrics.h"

namespace hisgate::agent {

namespace {
double quantile(std::vector<int64_t>& sorted_ms, double q) {
    if (sorted_ms.empty()) return 0;
    size_t i = static_cast<size_t>(q * static_cast<double>(sorted_ms.size() - 1) + 0.5);
    return static_cast<double>(sorted_ms[std::min(i, sorted_ms.size() - 1)]) / 1000.0;
}
}  // namespace

void QueueFigures::Tracker::admitted(int64_t row, const std::string& business, int64_t created_ms) {
    auto& b = businesses_[business];
    if (!live_.emplace(row, Live{&b, created_ms}).second) return;
    ++b.depth;
    ++b.waiting_since[created_ms];
}

void QueueFigures::Tracker::finished(int64_t row, int64_t finished_ms) {
    auto it = live_.find(row);
    if (it == live_.end()) return;
    auto& b = *it->second.business;
    --b.depth;
    auto since = b.waiting_since.find(it->second.created_ms);
    if (since != b.waiting_since.end() && --since->second == 0) b.waiting_since.erase(since);
    b.dwell.push_back({finished_ms, std::max<int64_t>(0, finished_ms - it->second.created_ms)});
    if (b.dwell.size() > kDwellSamples) b.dwell.pop_front();
    live_.erase(it);
}

QueueFigures QueueFigures::Tracker::figures(int64_t now_ms) const {
    QueueFigures f;
    for (const auto& [name, tracked] : businesses_) {
        auto& b = f.businesses[name];
        b.depth = tracked.depth;
        if (!tracked.waiting_since.empty())
            b.oldest_seconds = static_cast<double>(now_ms - tracked.waiting_since.begin()->first) / 1000.0;
        std::vector<int64_t> recent;
        for (const auto& s : tracked.dwell)
            if (s.finished_ms >= now_ms - kDwellWindowMs) recent.push_back(s.dwell_ms);
        std::sort(recent.begin(), recent.end());
        b.finished_recently = static_cast<int>(recent.size());
        b.dwell_p50_seconds = quantile(recent, 0.50);
        b.dwell_p99_seconds = quantile(recent, 0.99);
        f.depth += b.depth;
        f.oldest_seconds = std::max(f.oldest_seconds, b.oldest_seconds);
        f.dwell_p99_seconds = std::max(f.dwell_p99_seconds, b.dwell_p99_seconds);
    }
    return f;
}

nlohmann::json QueueFigures::to_json() const {
    nlohmann::json businesses_json = nlohmann::json::object();
    for (const auto& [name, b] : businesses)
        businesses_json[name] = {{"depth", b.depth},
                                 {"oldestSeconds", b.oldest_seconds},
                                 {"dwellP50Seconds", b.dwell_p50_seconds},
                                 {"dwellP99Seconds", b.dwell_p99_seconds},
                                 {"finishedRecently", b.finished_recently}};
    return {{"depth", depth},
            {"oldestSeconds", oldest_seconds},
            {"dwellP99Seconds", dwell_p99_seconds},
            {"businesses", businesses_json}};
}

void QueueFigures::publish_metrics() const {
    auto& m = metrics::global();
    for (const auto& [name, b] : businesses) {
        m.gauge("hisgate_agent_queue_depth", "Unfinished tasks, by business", {{"business", name}}).set(b.depth);
        m.gauge("hisgate_agent_queue_oldest_seconds", "Age of the oldest unfinished task, by business",
                {{"business", name}})
            .set(b.oldest_seconds);
        // Quantiles as gauges of their own: a gauge with a quantile label would pass for a
        // summary's series and be aggregated wrongly. Over time, use the task histogram.
        m.gauge("hisgate_agent_queue_dwell_p50_seconds", "Median admission-to-answer time over the last 5 minutes",
                {{"business", name}})
            .set(b.dwell_p50_seconds);
        m.gauge("hisgate_agent_queue_dwell_p99_seconds", "99th percentile admission-to-answer time over the last 5 minutes",
                {{"business", name}})
            .set(b.dwell_p99_seconds);
    }
}

}  // namespace hisgate::agent
