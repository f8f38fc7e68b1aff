// `hisgate ledger list [--state S] [--manual true] [--limit N] [--json]`: the ledgers'
// transactions in a state (GET /api/v1/ledger/transactions; default in_doubt; --manual true:
// only those the probes gave up on, the operators' queue), oldest first.
// `hisgate ledger resolve <id> --outcome committed|rejected --evidence TEXT [--json]`: an
// operator settles an IN_DOUBT transaction by what the hospital said (POST
// .../resolve); the ledger records the operator's name (the token's subject) and the
// evidence. docs/ledger.md, "Confirmation".
// Exit 0 on success, 1 when the API refused (its code and message printed) or could not be
// reached, 2 on bad arguments.
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kListUsage = R"(usage: hisgate ledger list [--state in_doubt] [--manual true] [--limit N] [--json]
                          [--url URL] [--token-file FILE]
)";
const char* kLedgerUsage = R"(usage: hisgate ledger list [--state S] [--manual true] [--limit N] [--json]
       hisgate ledger resolve <transaction id> --outcome committed|rejected --evidence TEXT [--json]
       (both take --url URL --token-file FILE)
)";

void print_ledger_table(const nlohmann::json& body) {
    const auto& list = body["transactions"];
    if (list.empty()) {
        std::printf("no transactions %s\n", field_text(body, "state").c_str());
        return;
    }
    std::printf("%s %s %s %s %s %s %s %s\n", column("TRANSACTION", 32).c_str(), column("KIND", 7).c_str(),
                column("STATE", 10).c_str(), column("PARTITION", 9).c_str(), column("HOSPITAL", 10).c_str(),
                column("AMOUNT", 11).c_str(), column("PROBES", 6).c_str(), "UPDATED");
    for (const auto& t : list) {
        std::string probes = t.contains("probes") ? field_text(t, "probes") + (t.value("manual", false) ? "*" : "") : "";
        std::printf("%s %s %s %s %s %s %s %s\n", column(field_text(t, "transactionId"), 32).c_str(),
                    column(field_text(t, "kind"), 7).c_str(), column(field_text(t, "state"), 10).c_str(),
                    column(field_text(t, "partition"), 9).c_str(), column(field_text(t, "hospitalId"), 10).c_str(),
                    column(field_text(t, "amount"), 11).c_str(), column(probes, 6).c_str(),
                    field_text(t, "updatedAt").c_str());
    }
    // The manual queue means different work by state: an uncertain outcome is settled by the
    // operator's evidence; a refund the provider keeps refusing is still asked (at the cap) and
    // posts when the provider refunds, so it is looked into at the provider, not resolved here.
    bool any_manual = false;
    for (const auto& t : list) any_manual = any_manual || t.value("manual", false);
    if (!any_manual) return;
    if (field_text(body, "state") == "IN_DOUBT")
        std::printf("(* in the manual queue: settle with `hisgate ledger resolve <id> --outcome ... --evidence ...`)\n");
    else if (field_text(body, "state") == "VOIDED")
        std::printf("(* a prepaid booking's refund the hospital refused or never did, every round: its booking is "
                    "released while the hospital holds the payment; ask the hospital, or refund the payment again "
                    "with POST /api/v1/payments/<id>/refund)\n");
    else
        std::printf("(* a refund the provider refused again and again: still asked at the longest interval; "
                    "look into it at the provider, the ledger posts it when the provider refunds)\n");
}

int resolve_main(const Args& given) {
    Args args = given;
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate ledger resolve: %s\n", target.error().message.c_str());
        return 2;
    }
    std::string id, outcome, evidence;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--json") json = true;
        else if (a == "--outcome" && i + 1 < args.size()) outcome = args[++i];
        else if (a == "--evidence" && i + 1 < args.size()) evidence = args[++i];
        else if (id.empty() && a.rfind("--", 0) != 0) id = a;
        else {
            std::fprintf(stderr, "hisgate ledger resolve: unexpected argument '%s'\n%s", a.c_str(), kLedgerUsage);
            return 2;
        }
    }
    if (id.empty() || (outcome != "committed" && outcome != "rejected") || evidence.empty()) {
        std::fprintf(stderr,
                     "hisgate ledger resolve: needs a transaction id, --outcome committed|rejected (what the hospital "
                     "says it holds) and --evidence (who said so, how)\n%s",
                     kLedgerUsage);
        return 2;
    }
    auto done = api_post_json(*target, "/api/v1/ledger/transactions/" + url_encode(id) + "/resolve",
                              {{"committed", outcome == "committed"}, {"evidence", evidence}});
    if (!done) {
        std::fprintf(stderr, "hisgate ledger resolve: %s: %s\n", done.error().code.c_str(), done.error().message.c_str());
        return 1;
    }
    if (json) std::printf("%s\n", done->dump(2).c_str());
    else {
        std::printf("%s %s (%s)\n", field_text(*done, "transactionId").c_str(), field_text(*done, "state").c_str(),
                    field_text((*done)["status"], "en").c_str());
        if (done->value("revoking", false))
            std::printf("not done: revoking it at the hospital's agent first (its request may still be queued there); "
                        "it settles when the agent answers\n");
    }
    return 0;
}
}  // namespace

int ledger_main(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::printf("%s", kLedgerUsage);
        return args.empty() ? 2 : 0;
    }
    Args rest(args.begin() + 1, args.end());
    if (args[0] == "list")
        return run_list_command({"ledger list", kListUsage, "/api/v1/ledger/transactions", {"--state", "--manual", "--limit"},
                                 "transactions", print_ledger_table},
                                rest);
    if (args[0] == "resolve") return resolve_main(rest);
    std::fprintf(stderr, "hisgate ledger: unknown command '%s'\n%s", args[0].c_str(), kLedgerUsage);
    return 2;
}

}  // namespace hisgate::cli
