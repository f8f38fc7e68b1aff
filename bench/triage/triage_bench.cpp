// triage_bench: routing accuracy of the triage rules on a seeded simulated fault mix with
// known true owners (bench/triage/fault_mix.h). Prints the share of errors routed to their
// true owner, overall and per fault kind, the wrong routings (true kind -> owner, with the
// rule that did it) and a few misrouted errors. The same --seed and --n replay exactly.
//
//   triage_bench [--n 10000] [--seed 1] [--fleet 300] [--rules FILE] [--samples 10]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/triage/fault_mix.h"
#include "controlplane/triage/default_rules.h"

using namespace hisgate;

int main(int argc, char** argv) {
    int n = 10000, fleet = 300;
    uint64_t seed = 1;
    size_t samples = 10;
    std::string rules_file;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "triage_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--n") n = std::atoi(value().c_str());
        else if (a == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
        else if (a == "--fleet") fleet = std::atoi(value().c_str());
        else if (a == "--rules") rules_file = value();
        else if (a == "--samples") samples = static_cast<size_t>(std::atoi(value().c_str()));
        else {
            std::fprintf(stderr, "usage: triage_bench [--n 10000] [--seed 1] [--fleet 300] [--rules FILE] [--samples 10]\n");
            return 2;
        }
    }
    if (n < 1 || fleet < 10) {
        std::fprintf(stderr, "triage_bench: --n at least 1, --fleet at least 10\n");
        return 2;
    }
    auto rules = rules_file.empty()
                     ? controlplane::triage::OwnerRules::parse(std::string(controlplane::triage::default_rules_json()), "built-in")
                     : controlplane::triage::OwnerRules::load_file(rules_file);
    if (!rules) {
        std::fprintf(stderr, "triage_bench: %s\n", rules.error().describe().c_str());
        return 2;
    }
    auto started = std::chrono::steady_clock::now();
    auto mix = triage_sim::generate(seed, n, fleet);
    auto report = triage_sim::run(mix, *rules, {}, samples);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!report) {
        std::fprintf(stderr, "triage_bench: %s\n", report.error().describe().c_str());
        return 1;
    }
    auto pct = [](int64_t right, int64_t all) { return all ? 100.0 * static_cast<double>(right) / static_cast<double>(all) : 0.0; };
    std::printf("triage accuracy: seed %llu, %d incidents over %d hospitals, %zu errors, rules %s (%.1f s)\n",
                static_cast<unsigned long long>(seed), n, fleet, mix.records.size(),
                rules_file.empty() ? "built-in" : rules_file.c_str(), seconds);
    std::printf("overall: %.2f%% of errors routed to their true owner (%lld/%lld); %.2f%% of incidents wholly right (%lld/%lld)\n\n",
                pct(report->overall.right, report->overall.errors), static_cast<long long>(report->overall.right),
                static_cast<long long>(report->overall.errors),
                pct(report->overall.incidents_right, report->overall.incidents),
                static_cast<long long>(report->overall.incidents_right), static_cast<long long>(report->overall.incidents));
    std::printf("%-22s %-13s %9s %8s %10s %9s\n", "fault kind", "true owner", "errors", "right", "incidents", "wholly");
    for (auto kind : triage_sim::kKinds) {
        const auto& s = report->kinds[kind];
        std::printf("%-22s %-13s %9lld %7.2f%% %10lld %8.2f%%\n", triage_sim::to_string(kind), triage_sim::true_owner(kind),
                    static_cast<long long>(s.errors), pct(s.right, s.errors), static_cast<long long>(s.incidents),
                    pct(s.incidents_right, s.incidents));
    }
    std::printf("\nwrong routings (true kind -> routed to: errors, by rule):\n");
    if (report->confusion.empty()) std::printf("  none\n");
    for (const auto& [key, count] : report->confusion)
        std::printf("  %-22s -> %-14s %7lld  (%s)\n", key.first.c_str(), key.second.c_str(), static_cast<long long>(count),
                    report->confusion_rule[key].c_str());
    if (!report->wrong_samples.empty()) std::printf("\nfirst misrouted errors:\n");
    for (const auto& s : report->wrong_samples) std::printf("  %s\n", s.c_str());
    std::printf("\nreplay: triage_bench --n %d --seed %llu --fleet %d%s%s\n", n, static_cast<unsigned long long>(seed), fleet,
                rules_file.empty() ? "" : " --rules ", rules_file.c_str());
    return 0;
}
