// `hisgate hl7 parse [--json|--stats] FILE|-` and `hisgate hl7 ack FILE|-`: the HL7 layer
// from the command line, for hospital IT checking what their HIS sends. The --json and
// --stats formats are documented in docs/hl7.md.
//
// Each message is parsed on its own: a bad one is reported on stderr (its number, byte
// offset and reason) and the others are still printed.
//
// Exit status: 0 all parsed (parse) or every message accepted (ack); 1 bad input (any
// message that failed), or an ACK that is not AA/CA; 2 bad arguments or an unreadable file. Notices (LF terminators,
// skipped text, missing encoding characters) go to stderr and do not change the status.
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "hl7/ack.h"
#include "hl7/batch.h"
#include "hl7/json.h"

namespace hisgate::cli {

namespace {

constexpr const char* kHl7ParseUsage = R"(usage:
  hisgate hl7 parse [--json|--stats] [--charset NAME] FILE|-
      (default)   one line per message: number, byte offset, MSH-9, MSH-10, segments
      --json      one line per message: the full structure as JSON (docs/hl7.md)
      --stats     one line: messages= segments= fields= leaves= leaf_bytes=
  hisgate hl7 ack [--charset NAME] FILE|-
      print the ACK each message gets (segments one per line, a blank line after each)
  --charset NAME  the charset of messages whose MSH-18 is empty (default UNICODE UTF-8)
)";

int hl7_parse_usage(const std::string& problem) {
    std::cerr << "hisgate hl7: " << problem << "\n\n" << kHl7ParseUsage;
    return 2;
}

std::optional<std::string> read_input(const std::string& name) {
    if (name == "-") {
        std::ostringstream s;
        s << std::cin.rdbuf();
        return s.str();
    }
    std::ifstream in(name, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void report(const std::vector<hl7::Notice>& notices) {
    for (const auto& n : notices) std::cerr << "notice: " << n.code << ": " << n.message << " (at byte " << n.offset << ")\n";
}

// A wire ACK (segments ended by CR) with one segment per line.
std::string readable(std::string ack) {
    for (char& c : ack)
        if (c == '\r') c = '\n';
    return ack;
}

}  // namespace

int hl7_parse_main(const Args& args) {
    if (args.empty()) return hl7_parse_usage("missing subcommand");
    const std::string& command = args[0];
    if (command != "parse" && command != "ack") return hl7_parse_usage("unknown subcommand '" + command + "'");

    enum class Output { Summary, Json, Stats } output = Output::Summary;
    hl7::ParseOptions options;
    std::optional<std::string> file;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (command == "parse" && (a == "--json" || a == "--stats")) {
            if (output != Output::Summary) return hl7_parse_usage("--json and --stats exclude each other");
            output = a == "--json" ? Output::Json : Output::Stats;
        } else if (a == "--charset" && i + 1 < args.size()) {
            auto charset = hl7::charset_from_hl7(args[++i]);
            if (!charset.ok()) return hl7_parse_usage(charset.error().message);
            options.default_charset = *charset;
        } else if ((a.size() > 1 && a[0] == '-') || file) {
            return hl7_parse_usage("unexpected argument '" + a + "'");
        } else {
            file = a;
        }
    }
    if (!file) return hl7_parse_usage("missing FILE (or - for standard input)");
    auto bytes = read_input(*file);
    if (!bytes) {
        std::cerr << "hisgate hl7: cannot read '" << *file << "'\n";
        return 2;
    }

    // The messages are found first, then each is parsed on its own: one bad message is
    // reported (its number, byte offset and reason) and the others are still processed.
    auto layout = hl7::split_file(*bytes);
    if (!layout.ok()) {
        std::cerr << "hisgate hl7 " << command << ": " << layout.error().describe() << "\n";
        return 1;
    }
    report(layout->notices);
    if (layout->messages.empty()) {
        std::cerr << "hisgate hl7 " << command << ": no message found in " << bytes->size()
                  << " bytes; expected segments starting with MSH\n";
        return 1;
    }

    int status = 0;
    std::size_t failed = 0;
    hl7::Stats stats;
    std::string out;
    for (const auto& span : layout->messages) {
        hl7::ParseOptions o = options;
        o.base_offset = span.offset;
        o.message_number = span.number;
        if (command == "ack") {
            std::string ack = hl7::ack_for(span.bytes, o);
            if (ack.empty()) {
                std::cerr << "message " << span.number << " (at byte " << span.offset
                          << "): no ACK (it is an ACK itself, or MSH-15 declines one)\n";
                continue;
            }
            std::cout << readable(ack) << "\n";
            auto parsed = hl7::Message::parse(ack, o);
            std::string code = parsed.ok() ? parsed->get("MSA-1") : "";
            if (code != "AA" && code != "CA") status = 1;
            continue;
        }
        auto m = hl7::Message::parse(span.bytes, o);
        if (!m.ok()) {
            // The error names the message's number and the byte where it went wrong.
            std::cerr << "hisgate hl7 parse: " << m.error().describe() << "\n";
            ++failed;
            continue;
        }
        report(m->notices());
        if (output == Output::Stats) {
            stats.add(*m);
            continue;
        }
        out.clear();
        if (output == Output::Json) {
            hl7::append_json(*m, out);
        } else {
            out = "message " + std::to_string(span.number) + ": " + m->get("MSH-9-1") + "^" + m->get("MSH-9-2") +
                  " control_id=" + m->get("MSH-10") + " segments=" + std::to_string(m->segment_count()) +
                  " charset=" + std::string(hl7::hl7_name(m->charset()));
        }
        out += '\n';
        std::cout << out;
    }
    if (output == Output::Stats && command == "parse") std::cout << stats.line() << "\n";
    if (failed) {
        std::cerr << "hisgate hl7 parse: " << failed << " of " << layout->messages.size()
                  << " messages failed to parse; the others were processed\n";
        status = 1;
    }
    return status;
}

}  // namespace hisgate::cli
