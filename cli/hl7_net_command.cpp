// `hisgate hl7 send HOST:PORT FILE` and `hisgate hl7 listen PORT`: the MLLP client and
// server from the command line, for hospital IT rehearsing against a HIS and for demos.
//
// Exit status: 0 all went well; 1 a message was not delivered, or was answered with a
// negative acknowledgement (AE/AR/CE/CR, commit NAK); 2 bad arguments.
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "cli/commands.h"
#include "hl7/ack.h"
#include "hl7/message.h"
#include "mllp/client.h"
#include "mllp/framer.h"
#include "mllp/message_file.h"
#include "mllp/server.h"

namespace hisgate::cli {

namespace {

constexpr const char* kHl7NetUsage = R"(usage:
  hisgate hl7 send HOST:PORT FILE [options]     send each message of FILE, print each answer
      --ack-timeout MS     wait this long for each answer (default 5000)
      --attempts N         sends per message, first included (default 3)
      --commit-ack         expect MLLP release 2 commit acknowledgements (0x06/0x15)
      --tls                use TLS; --ca FILE trusts FILE's CAs (default: the system's)
      --insecure           with --tls: do not verify the server certificate
      --cert FILE --key FILE   with --tls: present a client certificate
  hisgate hl7 listen PORT [options]             answer each message with the right ACK
      --bind ADDR          listen address (default 127.0.0.1; 0.0.0.0 for all)
      --store DIR          append every message to DIR/messages.log and sync it before
                           answering (group commit: one fdatasync for many connections)
      --group-wait US      with --store: let a batch gather this long before its sync (default 0)
      --commit-ack         answer with MLLP release 2 commit acknowledgements
      --max-frame BYTES    reject larger messages (default 16777216)
      --idle-timeout MS    close connections silent this long (default 60000)
      --defer-accept S     take a connection once its first bytes arrived; a silent one
                           after about S seconds (default 1; 0 = at once)
      --quiet              no line per message (type, control id, ACK code) on stdout
      --tls --cert FILE --key FILE [--client-ca FILE]   TLS; --client-ca requires client certificates
)";

// Options after the positional words: flags (no value) and valued options.
struct Parsed {
    std::vector<std::string> positional;
    std::set<std::string> flags;
    std::map<std::string, std::string> values;
};

int hl7_net_usage_error(const std::string& what) {
    std::fprintf(stderr, "hisgate hl7: %s\n\n%s", what.c_str(), kHl7NetUsage);
    return 2;
}

// Fails (with the message to print) on an unknown option or a missing value.
std::optional<std::string> parse(const Args& args, const std::set<std::string>& flags,
                                 const std::set<std::string>& valued, Parsed& out) {
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0) {
            out.positional.push_back(a);
        } else if (flags.count(a)) {
            out.flags.insert(a);
        } else if (valued.count(a)) {
            if (i + 1 >= args.size()) return "option " + a + " needs a value";
            out.values[a] = args[++i];
        } else {
            return "unknown option " + a;
        }
    }
    return std::nullopt;
}

// A whole decimal number within [min, max], or nothing.
std::optional<long long> number(const std::string& text, long long min, long long max) {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return std::nullopt;
    return v;
}

// Reads numeric option `name` into `target` if present; false (after printing) if malformed.
template <class T>
bool numeric_option(const Parsed& p, const std::string& name, long long min, long long max, T& target) {
    auto it = p.values.find(name);
    if (it == p.values.end()) return true;
    auto v = number(it->second, min, max);
    if (!v) {
        std::fprintf(stderr, "hisgate hl7: %s must be a whole number from %lld to %lld, got '%s'\n", name.c_str(), min,
                     max, it->second.c_str());
        return false;
    }
    target = static_cast<T>(*v);
    return true;
}

std::string value_or(const Parsed& p, const std::string& name, std::string fallback = {}) {
    auto it = p.values.find(name);
    return it == p.values.end() ? fallback : it->second;
}

// HL7 segments end in CR; print them one per line.
std::string printable(std::string text) {
    for (char& c : text)
        if (c == '\r') c = '\n';
    return text;
}

bool positive(std::string_view answer, bool commit_ack) {
    if (commit_ack) return answer == std::string_view(&mllp::kCommitAck, 1);
    auto parsed = hl7::Message::parse(answer);
    if (!parsed.ok()) return false;
    std::string code = parsed->get("MSA-1");
    return code == "AA" || code == "CA";
}

int send_main(const Args& args) {
    Parsed p;
    if (auto bad = parse(args, {"--tls", "--insecure", "--commit-ack"},
                         {"--ack-timeout", "--attempts", "--ca", "--cert", "--key"}, p))
        return hl7_net_usage_error(*bad);
    if (p.positional.size() != 2) return hl7_net_usage_error("send needs HOST:PORT and FILE");
    const std::string& target = p.positional[0];
    auto colon = target.rfind(':');
    if (colon == std::string::npos || colon == 0) return hl7_net_usage_error("expected HOST:PORT, got '" + target + "'");
    auto port = number(target.substr(colon + 1), 1, 65535);
    if (!port) return hl7_net_usage_error("port must be 1-65535 in '" + target + "'");

    mllp::ClientOptions options;
    options.host = target.substr(0, colon);
    options.port = static_cast<uint16_t>(*port);
    options.commit_ack = p.flags.count("--commit-ack") > 0;
    options.tls = p.flags.count("--tls") > 0;
    options.verify_peer = p.flags.count("--insecure") == 0;
    options.ca_file = value_or(p, "--ca");
    options.cert_file = value_or(p, "--cert");
    options.key_file = value_or(p, "--key");
    if (!options.tls && (p.flags.count("--insecure") || !options.ca_file.empty() || !options.cert_file.empty()))
        return hl7_net_usage_error("--ca, --cert, --key and --insecure need --tls");
    if (options.cert_file.empty() != options.key_file.empty()) return hl7_net_usage_error("--cert and --key go together");
    long long ack_ms = options.ack_timeout.count();
    if (!numeric_option(p, "--ack-timeout", 1, 3'600'000, ack_ms)) return 2;
    options.ack_timeout = std::chrono::milliseconds(ack_ms);
    if (!numeric_option(p, "--attempts", 1, 100, options.max_attempts)) return 2;

    auto messages = mllp::read_message_file(p.positional[1]);
    if (!messages.ok()) {
        std::fprintf(stderr, "hisgate hl7 send: %s\n", messages.error().describe().c_str());
        return messages.error().cls == ErrorClass::NotFound ? 2 : 1;
    }
    if (messages->empty()) {
        std::fprintf(stderr, "hisgate hl7 send: no HL7 message in %s\n", p.positional[1].c_str());
        return 1;
    }

    mllp::Client client(options);
    int failed = 0;
    for (std::size_t i = 0; i < messages->size(); ++i) {
        const std::string& message = (*messages)[i];
        // In original mode an ACK, or a message whose MSH-15 declines acknowledgements,
        // is never answered: send it without waiting for what will not come.
        if (!options.commit_ack && hl7::ack_for(message).empty()) {
            auto sent = client.send_unanswered(message);
            if (!sent.ok()) ++failed;
            if (sent.ok())
                std::printf("message %zu: sent; no acknowledgement is expected for it\n\n", i + 1);
            else
                std::fprintf(stderr, "message %zu: %s\n", i + 1, sent.error().describe().c_str());
            continue;
        }
        auto answer = client.send(message);
        if (!answer.ok()) {
            ++failed;
            std::fprintf(stderr, "message %zu: %s\n", i + 1, answer.error().describe().c_str());
            continue;
        }
        if (!positive(*answer, options.commit_ack)) ++failed;
        if (options.commit_ack)
            std::printf("message %zu: commit ACK\n", i + 1);
        else
            std::printf("%s\n", printable(*answer).c_str());
        std::fflush(stdout);
    }
    return failed == 0 ? 0 : 1;
}

int listen_main(const Args& args) {
    Parsed p;
    if (auto bad = parse(args, {"--tls", "--commit-ack", "--quiet"},
                         {"--bind", "--store", "--group-wait", "--max-frame", "--idle-timeout", "--defer-accept", "--cert", "--key", "--client-ca"}, p))
        return hl7_net_usage_error(*bad);
    if (p.positional.size() != 1) return hl7_net_usage_error("listen needs PORT");
    auto port = number(p.positional[0], 0, 65535);
    if (!port) return hl7_net_usage_error("port must be 0-65535 (0 = any free port), got '" + p.positional[0] + "'");

    mllp::ServerOptions options;
    options.port = static_cast<uint16_t>(*port);
    options.bind = value_or(p, "--bind", options.bind);
    // Senders speak first: by default wake a worker only once a message (or TLS hello)
    // has arrived.
    long long defer_s = 1;
    if (!numeric_option(p, "--defer-accept", 0, 3600, defer_s)) return 2;
    options.defer_accept = std::chrono::seconds(defer_s);
    options.commit_ack = p.flags.count("--commit-ack") > 0;
    options.tls = p.flags.count("--tls") > 0;
    options.cert_file = value_or(p, "--cert");
    options.key_file = value_or(p, "--key");
    options.client_ca_file = value_or(p, "--client-ca");
    if (options.tls && (options.cert_file.empty() || options.key_file.empty()))
        return hl7_net_usage_error("--tls needs --cert FILE and --key FILE");
    if (!options.tls && (!options.cert_file.empty() || !options.key_file.empty() || !options.client_ca_file.empty()))
        return hl7_net_usage_error("--cert, --key and --client-ca need --tls");
    if (!numeric_option(p, "--max-frame", 64, 1LL << 30, options.max_frame_bytes)) return 2;
    long long idle_ms = options.idle_timeout.count();
    if (!numeric_option(p, "--idle-timeout", 1, 86'400'000, idle_ms)) return 2;
    options.idle_timeout = std::chrono::milliseconds(idle_ms);

    // Block the stop signals before any thread starts, so only sigwait() below sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    if (std::string dir = value_or(p, "--store"); !dir.empty()) {
        // Opened here rather than by the server (after the signals are blocked: it starts
        // a thread), so its figures can be printed at the end.
        long long wait_us = 0;
        if (!numeric_option(p, "--group-wait", 0, 1'000'000, wait_us)) return 2;
        auto log = mllp::MessageLog::open(
            {.dir = dir, .max_wait = std::chrono::microseconds(wait_us), .max_message_bytes = options.max_frame_bytes});
        if (!log) {
            std::fprintf(stderr, "hisgate hl7 listen: %s\n", log.error().describe().c_str());
            return log.error().cls == ErrorClass::Config ? 2 : 1;
        }
        options.store = std::move(*log);
    }

    // One line per message for the operator: type, control id and answer; never content.
    const bool quiet = p.flags.count("--quiet") > 0;
    mllp::Server server(options, [quiet](std::string_view message) {
        std::string ack = hl7::ack_for(message);
        if (quiet) return ack;
        auto original = hl7::Message::parse(message);
        auto answer = hl7::Message::parse(ack);
        std::printf("%s %s -> %s\n", original.ok() ? original->get("MSH-9").c_str() : "(unparsable)",
                    original.ok() ? original->get("MSH-10").c_str() : "-",
                    answer.ok() ? answer->get("MSA-1").c_str() : "(no ACK)");
        std::fflush(stdout);
        return ack;
    });
    if (auto started = server.start(); !started) {
        std::fprintf(stderr, "hisgate hl7 listen: %s\n", started.error().describe().c_str());
        return started.error().cls == ErrorClass::Config ? 2 : 1;
    }
    std::printf("listening on %s:%u%s\n", options.bind.c_str(), static_cast<unsigned>(server.port()),
                options.tls ? " (TLS)" : "");
    std::fflush(stdout);
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
    if (options.store) {
        auto stats = options.store->stats();
        std::fprintf(stderr, "store %s: %llu records, %llu syncs since start, %llu duplicates\n",
                     options.store->path().c_str(), static_cast<unsigned long long>(stats.records),
                     static_cast<unsigned long long>(stats.batches), static_cast<unsigned long long>(stats.duplicates));
    }
    return 0;
}

}  // namespace

int hl7_net_main(const Args& args) {
    if (args.empty()) return hl7_net_usage_error("expected send or listen");
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", kHl7NetUsage);
            return 0;
        }
    if (args[0] == "send") return send_main(args);
    if (args[0] == "listen") return listen_main(args);
    return hl7_net_usage_error("unknown subcommand '" + args[0] + "'");
}

}  // namespace hisgate::cli
