// `hisgate token new-key|issue`: the API's signing keys and bearer tokens (libs/auth).
//
//   new-key --keys DIR                 a new key in DIR (it signs from now on; see
//                                      auth/key_ring.h for rotation); prints its kid
//   issue --keys DIR --role ROLE --subject ID [--ttl DURATION]
//                                      prints a token (ttl default 24h; e.g. 30m, 8h, 90d)
// Bad arguments exit 2 with the usage; a key or token that cannot be made exits 1.
#include <iostream>
#include <map>

#include "auth/access_token.h"
#include "cli/commands.h"
#include "config-params/value_types.h"

namespace hisgate::cli {

namespace {

const char* kTokenUsage = R"(usage: hisgate token new-key --keys DIR
       hisgate token issue --keys DIR --role patient|viewer|operator|admin|service --subject ID [--ttl 24h]
)";

int token_usage(const std::string& why = "") {
    if (!why.empty()) std::cerr << "hisgate token: " << why << "\n";
    std::cerr << kTokenUsage;
    return 2;
}

// --name value pairs after the subcommand; nullopt on a stray word or a missing value.
std::optional<std::map<std::string, std::string>> token_options(const Args& args) {
    std::map<std::string, std::string> out;
    for (size_t i = 1; i < args.size(); i += 2) {
        if (args[i].rfind("--", 0) != 0 || i + 1 >= args.size()) return std::nullopt;
        out[args[i].substr(2)] = args[i + 1];
    }
    return out;
}

}  // namespace

int token_main(const Args& args) {
    if (args.empty()) return token_usage();
    auto opts = token_options(args);
    if (!opts) return token_usage("expected --name value pairs");
    if (!opts->count("keys")) return token_usage("--keys DIR is required");
    auto now = std::chrono::system_clock::now();
    if (args[0] == "new-key") {
        auto kid = auth::KeyRing::create_key(opts->at("keys"), now);
        if (!kid) {
            std::cerr << "hisgate token: " << kid.error().describe() << "\n";
            return 1;
        }
        std::cout << *kid << "\n";
        return 0;
    }
    if (args[0] != "issue") return token_usage("unknown subcommand " + args[0]);
    if (!opts->count("role") || !opts->count("subject")) return token_usage("--role and --subject are required");
    auto role = auth::role_from_string(opts->at("role"));
    if (!role) return token_usage(role.error().message);
    auto ttl = params::parse_duration(opts->count("ttl") ? opts->at("ttl") : "24h");
    if (!ttl || ttl->count() <= 0) return token_usage("--ttl: expected a duration such as 30m, 8h or 90d");
    auto ring = auth::KeyRing::open(opts->at("keys"));
    if (!ring) {
        std::cerr << "hisgate token: " << ring.error().describe() << "\n";
        return 1;
    }
    auto issued_at = std::chrono::floor<std::chrono::seconds>(now);
    auth::AccessToken token{*role, opts->at("subject"),
                            issued_at + std::chrono::ceil<std::chrono::seconds>(*ttl)};
    auto jwt = auth::issue_token(**ring, token, issued_at);
    if (!jwt) {
        std::cerr << "hisgate token: " << jwt.error().describe() << "\n";
        return 1;
    }
    std::cout << *jwt << "\n";
    return 0;
}

}  // namespace hisgate::cli
