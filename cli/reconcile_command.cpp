// `hisgate reconcile --date D [--partition P] [--json]`: the day's three-way reconciliation
// of the ledgers, each hospital's statement and the provider's bill (POST
// /api/v1/ledger/reconcile; docs/ledger.md "Reconciliation"). Prints the report (or its
// JSON). Exit 0 when the day is clean, 1 on any mismatch or when the API refused or could
// not be reached (its code and message printed), 2 on bad arguments.
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kReconcileUsage = "usage: hisgate reconcile --date YYYY-MM-DD [--partition P] [--json] [--url URL] [--token-file F]\n";
// Statements are deferred work at the agents: a run may wait minutes for them.
constexpr int kWaitSeconds = 600;
}  // namespace

int reconcile_main(const Args& given) {
    Args args = given;
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", kReconcileUsage);
            return 0;
        }
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate reconcile: %s\n%s", target.error().message.c_str(), kReconcileUsage);
        return 2;
    }
    std::string date, partition;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--json") json = true;
        else if (a == "--date" && i + 1 < args.size()) date = args[++i];
        else if (a == "--partition" && i + 1 < args.size()) partition = args[++i];
        else {
            std::fprintf(stderr, "hisgate reconcile: unexpected argument '%s'\n%s", a.c_str(), kReconcileUsage);
            return 2;
        }
    }
    if (date.empty()) {
        std::fprintf(stderr, "hisgate reconcile: which day? (--date YYYY-MM-DD)\n%s", kReconcileUsage);
        return 2;
    }
    std::string path = "/api/v1/ledger/reconcile?date=" + url_encode(date);
    if (!partition.empty()) path += "&partition=" + url_encode(partition);
    auto report = api_post(*target, path, kWaitSeconds);
    if (!report) {
        std::fprintf(stderr, "hisgate reconcile: %s: %s\n", report.error().code.c_str(), report.error().message.c_str());
        return 1;
    }
    if (json) {
        auto out = *report;
        out.erase("text");
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        std::printf("%s", field_text(*report, "text").c_str());
    }
    return report->value("clean", false) ? 0 : 1;
}

}  // namespace hisgate::cli
