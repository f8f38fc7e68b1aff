// hisgate-sim: seeded fault simulations. A failure prints its seed and the command that
// replays it exactly.
//
//   hisgate-sim ledger --seed N [--transactions K]
//                      [--broken-policy refund-on-timeout|refund-on-not-found|refund-before-his|reask-new-attempt|
//                                       void-on-operator-word]
//                      [--split on|off]     (the split of `south` mid-run; on by default)
//                      [--reask on|off]     (corrections re-asked, prepaid refunds asked again; on by
//                                            default; off measures what they settle)
//       (the broken policies are for the tests that show the invariants catch them)
//   hisgate-sim ledger --seeds 1,2,3 [--transactions K]     (each in turn; stops at a failure)
//   hisgate-sim ledger --seed random                          (drawn from the kernel, printed)
#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/ledger-sim/ledger_sim.h"

namespace {
int usage() {
    std::fprintf(stderr,
                 "usage: hisgate-sim ledger (--seed N|random | --seeds N,M,...) [--transactions K]\n"
                 "                          [--broken-policy refund-on-timeout|refund-on-not-found|refund-before-his|\n"
                 "                                           reask-new-attempt|void-on-operator-word]\n"
                 "                          [--split on|off] [--reask on|off]\n");
    return 2;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "ledger") != 0) return usage();
    std::vector<uint64_t> seeds;
    hisgate::ledger_sim::SimOptions options;
    std::string broken;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) return usage();
        std::string value = argv[++i];
        try {
            if (arg == "--seed") {
                if (value == "random") {
                    uint64_t s = 0;
                    if (getrandom(&s, sizeof s, 0) != sizeof s) return 2;
                    seeds.push_back(s % 1'000'000'000);
                } else {
                    seeds.push_back(std::stoull(value));
                }
            } else if (arg == "--seeds") {
                size_t pos = 0;
                while (pos <= value.size()) {
                    size_t comma = value.find(',', pos);
                    if (comma == std::string::npos) comma = value.size();
                    seeds.push_back(std::stoull(value.substr(pos, comma - pos)));
                    pos = comma + 1;
                }
            } else if (arg == "--transactions") {
                options.transactions = std::stoi(value);
            } else if (arg == "--broken-policy" && value == "refund-on-timeout") {
                options.broken_refund_on_timeout = true;
                broken += " --broken-policy refund-on-timeout";
            } else if (arg == "--broken-policy" && value == "refund-on-not-found") {
                options.broken_refund_on_not_found = true;
                broken += " --broken-policy refund-on-not-found";
            } else if (arg == "--broken-policy" && value == "refund-before-his") {
                options.broken_refund_before_his = true;
                broken += " --broken-policy refund-before-his";
            } else if (arg == "--broken-policy" && value == "reask-new-attempt") {
                options.broken_reask_new_attempt = true;
                broken += " --broken-policy reask-new-attempt";
            } else if (arg == "--broken-policy" && value == "void-on-operator-word") {
                options.broken_void_on_operator_word = true;
                broken += " --broken-policy void-on-operator-word";
            } else if (arg == "--reask" && (value == "on" || value == "off")) {
                options.reask = value == "on";
                if (!options.reask) broken += " --reask off";
            } else if (arg == "--split" && (value == "on" || value == "off")) {
                options.split = value == "on";
                if (!options.split) broken += " --split off";
            } else {
                return usage();
            }
        } catch (const std::exception&) {
            return usage();
        }
    }
    if (seeds.empty() || options.transactions < 1) return usage();
    for (uint64_t seed : seeds) {
        options.seed = seed;
        auto started = std::chrono::steady_clock::now();
        auto report = hisgate::ledger_sim::run_ledger_sim(options);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("%s  wall time %.2f s\n", report.summary.c_str(), seconds);
        if (!report.ok) {
            std::printf("FAILED seed=%llu: %s\nreplay: hisgate-sim ledger --seed %llu --transactions %d%s\n",
                        static_cast<unsigned long long>(seed), report.failure.c_str(),
                        static_cast<unsigned long long>(seed), options.transactions, broken.c_str());
            return 1;
        }
        std::printf("ok seed=%llu\n", static_cast<unsigned long long>(seed));
        std::fflush(stdout);
    }
    return 0;
}
