// hl7-gen: writes generated HL7 v2 messages (generator.h) to a file or a directory, for
// the fuzz tests' seeds, the benchmarks when the external corpus is absent, and by hand.
//
//   hl7-gen [--seed N] [--count N] [--break N[:DEFECT]] OUT|-
//   hl7-gen [--seed N] [--count N] --dir DIR
//
// Exit status: 0 written; 2 bad arguments or an unwritable output.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "hl7-gen/generator.h"

namespace {

constexpr const char* kUsage = R"(usage:
  hl7-gen [--seed N] [--count N] [--break N[:DEFECT]] OUT|-
      COUNT messages (default 1000) from SEED (default 1), back to back, into the file OUT
      --break N[:DEFECT]  message N (1-based) gets a defect the parser refuses:
                          segment-name (default), charset-unknown, invalid-text
  hl7-gen [--seed N] [--count N] --dir DIR
      one file per message in DIR (msg-000001.hl7, ...)
)";

int usage(const std::string& problem) {
    std::cerr << "hl7-gen: " << problem << "\n\n" << kUsage;
    return 2;
}

std::optional<unsigned long> number(const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) return std::nullopt;
    return std::stoul(s);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace hisgate::hl7gen;
    std::uint32_t seed = 1;
    std::size_t count = 1000, broken = 0;
    Defect defect = Defect::SegmentName;
    bool dir = false;
    std::optional<std::string> out;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--help") {
            std::cout << kUsage;
            return 0;
        } else if (a == "--seed" && has_value) {
            auto n = number(argv[++i]);
            if (!n) return usage("--seed takes a number");
            seed = static_cast<std::uint32_t>(*n);
        } else if (a == "--count" && has_value) {
            auto n = number(argv[++i]);
            if (!n || *n == 0) return usage("--count takes a number above 0");
            count = *n;
        } else if (a == "--break" && has_value) {
            std::string v = argv[++i], name;
            if (auto colon = v.find(':'); colon != std::string::npos) {
                name = v.substr(colon + 1);
                v = v.substr(0, colon);
            }
            auto n = number(v);
            if (!n || *n == 0) return usage("--break takes a message number (1-based)");
            broken = *n;
            if (name == "charset-unknown") defect = Defect::CharsetUnknown;
            else if (name == "invalid-text") defect = Defect::InvalidText;
            else if (!name.empty() && name != "segment-name") return usage("unknown defect '" + name + "'");
        } else if (a == "--dir") {
            dir = true;
        } else if ((a.size() > 1 && a[0] == '-') || out) {
            return usage("unexpected argument '" + a + "'");
        } else {
            out = a;
        }
    }
    if (!out) return usage("missing OUT");
    if (broken > count) return usage("--break names message " + std::to_string(broken) + " of " + std::to_string(count));
    if (dir && broken) return usage("--break writes one file; --dir writes good messages only");

    Generator gen(seed);
    if (dir) {
        std::error_code ec;
        std::filesystem::create_directories(*out, ec);
        for (std::size_t i = 1; i <= count; ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "msg-%06zu.hl7", i);
            auto path = std::filesystem::path(*out) / name;
            std::ofstream f(path, std::ios::binary);
            f << gen.next().bytes;
            if (!f) {
                std::cerr << "hl7-gen: cannot write " << path.string() << "\n";
                return 2;
            }
        }
        std::cerr << "hl7-gen: wrote " << count << " messages (seed " << seed << ") to " << *out << "/\n";
        return 0;
    }

    std::string bytes;
    std::size_t broken_at = 0;
    for (std::size_t i = 1; i <= count; ++i) {
        std::string m = gen.next().bytes;
        if (i == broken) {
            broken_at = bytes.size();
            m = break_message(m, defect);
        }
        bytes += m;
    }
    if (*out == "-") {
        std::cout << bytes;
    } else {
        std::ofstream f(*out, std::ios::binary);
        f << bytes;
        if (!f) {
            std::cerr << "hl7-gen: cannot write " << *out << "\n";
            return 2;
        }
    }
    std::cerr << "hl7-gen: wrote " << count << " messages (seed " << seed << ", " << bytes.size() << " bytes) to " << *out;
    if (broken) std::cerr << "; message " << broken << " (at byte " << broken_at << ") has the defect " << error_code(defect);
    std::cerr << "\n";
    return 0;
}
