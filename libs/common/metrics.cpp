#include "common/metrics.h"
#include "common/check.h"

#include <sstream>

namespace hisgate::metrics {

namespace {
void atomic_add(std::atomic<double>& a, double by) {
    double cur = a.load();
    while (!a.compare_exchange_weak(cur, cur + by)) {
    }
}

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') { out += "\\n"; continue; }
        out.push_back(c);
    }
    return out;
}

std::string number(double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}
}  // namespace

std::string format_labels(const Labels& labels) {
    if (labels.empty()) return {};
    std::string out = "{";
    for (const auto& [k, v] : labels) {
        if (out.size() > 1) out.push_back(',');
        out += k + "=\"" + escape_label(v) + "\"";
    }
    return out + "}";
}

void Counter::inc(double by) {
    HISGATE_CHECK(by >= 0, "counter increment", by);
    atomic_add(value_, by);
}

void Gauge::add(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
    for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    buckets_[i]++;
    atomic_add(sum_, v);
    count_++;
}

std::string Histogram::render(const std::string& name, const std::string& labels) const {
    // labels is "" or "{a=\"b\"}"; bucket lines need le= merged into the same braces.
    std::string inner = labels.empty() ? "" : labels.substr(1, labels.size() - 2) + ",";
    std::string out;
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += buckets_[i].load();
        std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
        out += name + "_bucket{" + inner + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_sum" + labels + " " + number(sum_.load()) + "\n";
    out += name + "_count" + labels + " " + std::to_string(count_.load()) + "\n";
    return out;
}

std::vector<double> Registry::default_latency_bounds() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Registry::task_duration_bounds() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
}

Registry::Family& Registry::family(const std::string& name, const std::string& type, const std::string& help) {
    auto [it, inserted] = families_.try_emplace(name);
    if (inserted) {
        it->second.type = type;
        it->second.help = help;
    }
    HISGATE_CHECK(it->second.type == type, "metric registered with another type", name);
    return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, "counter", help).counters[format_labels(labels)];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, "gauge", help).gauges[format_labels(labels)];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                               std::vector<double> bounds) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, "histogram", help).histograms[format_labels(labels)];
    if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
    return *slot;
}

std::string Registry::render() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [name, f] : families_) {
        out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
        for (const auto& [labels, c] : f.counters) out += name + labels + " " + number(c->value()) + "\n";
        for (const auto& [labels, g] : f.gauges) out += name + labels + " " + number(g->value()) + "\n";
        for (const auto& [labels, h] : f.histograms) out += h->render(name, labels);
    }
    return out;
}

Registry& global() {
    static Registry r;
    return r;
}

}  // namespace hisgate::metrics
