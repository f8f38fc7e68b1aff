// HL7 v2 parse benchmark: hisgate against a raw delimiter scan over the same bytes.
// bench/hl7-parse/run adds python-hl7 and a Node.js parser side by side and prints the
// table in docs/benchmarks.md.
//
//   hl7_parse_bench CORPUS_DIR [--seconds S] [--dump FILE]
//
// Input: every message of CORPUS_DIR/good that declares 4 encoding characters, as hisgate
// serializes it (segments ended by CR), so every contender reads identical bytes; --dump writes them, separated by 0x1C,
// for the peers. Each contender parses every message to the full structure (segments,
// fields, repetitions, components, subcomponents) with escapes decoded and touches every
// decoded leaf, counting leaves and their bytes (printed, so the work cannot be skipped
// and the contenders can be compared). Output: one "RESULT name messages_per_s mb_per_s
// leaves leaf_bytes" line per contender.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "hl7/batch.h"
#include "hl7/json.h"

namespace fs = std::filesystem;
using namespace hisgate::hl7;

namespace {

struct Totals {
    std::size_t leaves = 0, leaf_bytes = 0;
};

std::vector<std::string> load(const fs::path& dir) {
    std::vector<fs::path> files;
    for (auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> messages;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        auto batch = parse_file(bytes);
        if (!batch.ok()) continue;  // files holding no message
        for (const Message& m : batch->messages) {
            // The three corpus messages with fewer than 4 encoding characters are left
            // out: python-hl7 cannot read them, and every contender must read the same set.
            if (m.delimiters().encoding_characters().size() < 4) continue;
            messages.push_back(m.serialize());
        }
    }
    return messages;
}

// Runs `pass` over all messages until `seconds` have passed; returns passes per second.
template <class Pass>
double rate(double seconds, Pass&& pass) {
    using clock = std::chrono::steady_clock;
    pass();  // warm-up
    std::size_t passes = 0;
    auto start = clock::now();
    double elapsed = 0;
    do {
        pass();
        ++passes;
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < seconds);
    return passes / elapsed;
}

// hisgate: parse, then walk the whole structure, decoding every leaf.
Totals hisgate_walk(const std::vector<std::string>& messages) {
    Totals t;
    Stats stats;
    for (const auto& bytes : messages) {
        auto m = Message::parse(bytes);
        if (m.ok()) stats.add(*m);
    }
    t.leaves = stats.leaves;
    t.leaf_bytes = stats.leaf_bytes;
    return t;
}

// hisgate parse only, reading one field: what a consumer that needs a few fields pays
// (not the full-structure work of the others; reported apart).
Totals hisgate_lazy(const std::vector<std::string>& messages) {
    Totals t;
    for (const auto& bytes : messages) {
        auto m = Message::parse(bytes);
        if (!m.ok()) continue;
        ++t.leaves;
        t.leaf_bytes += m->get("MSH-10").size();
    }
    return t;
}

// hisgate into an owning tree of strings, as a DOM-style parser would hand it over.
using Tree = std::vector<std::vector<std::vector<std::vector<std::vector<std::string>>>>>;
struct TreeBuilder {
    std::vector<Tree::value_type> segments;
    void segment_begin(std::string_view) { segments.emplace_back(); }
    void segment_end() {}
    void field_begin() { segments.back().emplace_back(); }
    void field_end() {}
    void repetition_begin() { segments.back().back().emplace_back(); }
    void repetition_end() {}
    void component_begin() { segments.back().back().back().emplace_back(); }
    void component_end() {}
    void subcomponent(std::string_view v) { segments.back().back().back().back().emplace_back(v); }
};

Totals hisgate_tree(const std::vector<std::string>& messages) {
    Totals t;
    for (const auto& bytes : messages) {
        auto m = Message::parse(bytes);
        if (!m.ok()) continue;
        TreeBuilder b;
        m->walk(b);
        for (auto& seg : b.segments)
            for (auto& field : seg)
                for (auto& rep : field)
                    for (auto& comp : rep)
                        for (auto& leaf : comp) {
                            ++t.leaves;
                            t.leaf_bytes += leaf.size();
                        }
    }
    return t;
}

// The ceiling: one pass classifying every byte as a delimiter or terminator of the
// message's own delimiters, the least any full-structure parser must do.
Totals raw_scan(const std::vector<std::string>& messages) {
    Totals t;
    for (const auto& m : messages) {
        std::array<unsigned char, 256> is_delimiter{};
        is_delimiter['\r'] = 1;
        for (std::size_t i = 3; i < 8 && i < m.size(); ++i) is_delimiter[static_cast<unsigned char>(m[i])] = 1;
        std::size_t hits = 0;
        for (unsigned char c : m) hits += is_delimiter[c];
        t.leaves += hits;
        t.leaf_bytes += m.size() - hits;
    }
    return t;
}

// memchr over the same bytes: segment terminators, then field separators within each
// segment (memchr finds one byte value; the levels below would need more passes).
Totals raw_memchr(const std::vector<std::string>& messages) {
    Totals t;
    for (const auto& m : messages) {
        const char field = m.size() > 3 ? m[3] : '|';
        const char* p = m.data();
        const char* end = p + m.size();
        while (p < end) {
            const char* seg_end = static_cast<const char*>(std::memchr(p, '\r', end - p));
            if (!seg_end) seg_end = end;
            for (const char* f = p; (f = static_cast<const char*>(std::memchr(f, field, seg_end - f))); ++f) ++t.leaves;
            ++t.leaves;
            p = seg_end + 1;
        }
        t.leaf_bytes += m.size();
    }
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: hl7_parse_bench CORPUS_DIR [--seconds S] [--dump FILE]\n";
        return 2;
    }
    fs::path corpus = argv[1];
    double seconds = 3;
    std::string dump;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--seconds") seconds = std::stod(argv[i + 1]);
        else if (a == "--dump") dump = argv[i + 1];
    }
    std::vector<std::string> messages = load(corpus / "good");
    std::size_t bytes = 0;
    for (const auto& m : messages) bytes += m.size();
    std::cout << "INPUT messages=" << messages.size() << " bytes=" << bytes << "\n";
    if (!dump.empty()) {
        std::ofstream out(dump, std::ios::binary);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            if (i) out << '\x1c';
            out << messages[i];
        }
    }

    struct Contender {
        const char* name;
        Totals (*pass)(const std::vector<std::string>&);
    };
    for (const Contender& c : {Contender{"hisgate", hisgate_walk}, Contender{"hisgate-tree", hisgate_tree},
                               Contender{"hisgate-msh10-only", hisgate_lazy},
                               Contender{"raw-scan", raw_scan}, Contender{"raw-memchr", raw_memchr}}) {
        Totals totals;
        volatile std::size_t sink = 0;
        double per_second = rate(seconds, [&] {
            totals = c.pass(messages);
            sink = sink + totals.leaves;
        });
        std::printf("RESULT %s %.0f %.2f %zu %zu\n", c.name, per_second * messages.size(),
                    per_second * bytes / 1e6, totals.leaves, totals.leaf_bytes);
        std::fflush(stdout);
    }
    return 0;
}
