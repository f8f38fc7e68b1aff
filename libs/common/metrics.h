// Prometheus text-format metrics. A Registry owns named families; a family holds one
// series per label set. Everything is thread-safe; updates are lock-free after the first
// lookup of a series (callers keep the returned reference, which stays valid for the
// registry's lifetime).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hisgate::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
public:
    void inc(double by = 1.0);
    double value() const { return value_.load(); }

private:
    std::atomic<double> value_{0};
};

class Gauge {
public:
    void set(double v) { value_.store(v); }
    void add(double by);
    double value() const { return value_.load(); }

private:
    std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (seconds for latencies).
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v);
    std::string render(const std::string& name, const std::string& labels) const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, plus +Inf
    std::atomic<double> sum_{0};
    std::atomic<uint64_t> count_{0};
};

class Registry {
public:
    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                         std::vector<double> bounds = default_latency_bounds());
    std::string render() const;

    // 1 ms to 10 s: a call answered while someone waits (HTTP, the HIS, a probe).
    static std::vector<double> default_latency_bounds();
    // 5 ms to one hour: a task's admission to answer, which for deferred work includes the
    // wait for the drain timer and for a HIS that is down.
    static std::vector<double> task_duration_bounds();

private:
    struct Family {
        std::string type, help;
        std::map<std::string, std::unique_ptr<Counter>> counters;
        std::map<std::string, std::unique_ptr<Gauge>> gauges;
        std::map<std::string, std::unique_ptr<Histogram>> histograms;
    };
    Family& family(const std::string& name, const std::string& type, const std::string& help);

    mutable std::mutex mu_;
    std::map<std::string, Family> families_;
};

// The process-wide registry that /metrics serves.
Registry& global();

std::string format_labels(const Labels& labels);

}  // namespace hisgate::metrics
