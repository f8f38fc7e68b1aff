#include <catch2/catch.hpp>

#include "common/metrics.h"

using namespace hisgate;

TEST_CASE("metrics: counters, gauges and histograms render as Prometheus text") {
    metrics::Registry r;
    r.counter("x_requests_total", "Requests", {{"route", "a"}}).inc();
    r.counter("x_requests_total", "Requests", {{"route", "a"}}).inc(2);
    r.gauge("x_in_flight", "In flight").set(4);
    auto& h = r.histogram("x_seconds", "Latency", {{"route", "a"}}, {0.1, 1});
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    std::string text = r.render();
    CHECK_THAT(text, Catch::Contains("# TYPE x_requests_total counter"));
    CHECK_THAT(text, Catch::Contains("x_requests_total{route=\"a\"} 3"));
    CHECK_THAT(text, Catch::Contains("x_in_flight 4"));
    CHECK_THAT(text, Catch::Contains("x_seconds_bucket{route=\"a\",le=\"0.10000000000000001\"} 1"));
    CHECK_THAT(text, Catch::Contains("x_seconds_bucket{route=\"a\",le=\"1\"} 2"));
    CHECK_THAT(text, Catch::Contains("x_seconds_bucket{route=\"a\",le=\"+Inf\"} 3"));
    CHECK_THAT(text, Catch::Contains("x_seconds_count{route=\"a\"} 3"));
}
