// `hisgate params validate|list|docs|diff`: the parameter catalog for hospital IT and
// release managers.
//
//   validate FILE      exit 0 "ok: N parameters set", or 1 with one line per problem
//   list [--json]      the catalog as a table, or as one merged catalog file
//   docs [OUT]         writes the Markdown reference (default docs/params.md)
//   diff OLD NEW       every change between two catalogs (dirs or merged files);
//                      exit 1 when a file valid for OLD may break under NEW
// Bad arguments exit 2 with the usage.
#include <algorithm>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "config-params/catalog_diff.h"
#include "config-params/markdown.h"
#include "config-params/param_set.h"

namespace hisgate::cli {

namespace {

using params::Catalog;

const char* kParamsUsage = R"(usage: hisgate params validate FILE
       hisgate params list [--json]
       hisgate params docs [OUT]          (OUT defaults to docs/params.md)
       hisgate params diff OLD NEW        (each a catalog directory or a merged catalog file)
)";

int params_usage() {
    std::cerr << kParamsUsage;
    return 2;
}

// The catalog of this build; a broken one is reported, never used.
const Catalog* builtin() {
    const auto& catalog = Catalog::builtin();
    if (catalog.ok()) return &*catalog;
    std::cerr << "hisgate params: the built-in catalog is invalid (" << catalog.error().code << "):\n"
              << catalog.error().message << "\n";
    return nullptr;
}

int validate(const std::string& path) {
    const Catalog* catalog = builtin();
    if (!catalog) return 1;
    auto set = params::ParamSet::load_file(*catalog, path);
    if (!set) {
        std::cerr << set.error().message << "\n";
        return 1;
    }
    std::cout << "ok: " << set->count_set() << " parameters set\n";
    return 0;
}

std::string default_text(const params::ParamDef& d) { return d.required ? "required" : d.default_value->dump(); }

int list(bool as_json) {
    const Catalog* catalog = builtin();
    if (!catalog) return 1;
    if (as_json) {
        std::cout << catalog->to_json().dump(2) << "\n";
        return 0;
    }
    size_t name_w = 4, type_w = 4, default_w = 7;
    for (const auto& d : catalog->all()) {
        name_w = std::max(name_w, d.name.size());
        type_w = std::max(type_w, type_text(d).size());
        default_w = std::max(default_w, default_text(d).size());
    }
    auto row = [&](const std::string& name, const std::string& type, const std::string& fallback, const std::string& doc) {
        std::cout << name << std::string(name_w - name.size() + 2, ' ') << type << std::string(type_w - type.size() + 2, ' ')
                  << fallback << std::string(default_w - fallback.size() + 2, ' ') << doc << "\n";
    };
    row("name", "type", "default", "doc");
    for (const auto& d : catalog->all()) row(d.name, type_text(d), default_text(d), d.doc);
    return 0;
}

int docs(const std::string& out_path) {
    const Catalog* catalog = builtin();
    if (!catalog) return 1;
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    out << params::render_markdown(*catalog);
    out.close();
    if (!out) {
        std::cerr << "hisgate params docs: cannot write " << out_path << "\n";
        return 1;
    }
    std::cout << "wrote " << out_path << "\n";
    return 0;
}

int diff(const std::string& before_path, const std::string& after_path) {
    auto before = Catalog::load(before_path);
    auto after = Catalog::load(after_path);
    for (const auto* c : {&before, &after}) {
        if (!c->ok()) {
            std::cerr << c->error().message << "\n";
            return 2;
        }
    }
    bool breaking = false;
    for (const auto& change : params::diff(*before, *after)) {
        std::cout << change.line() << "\n";
        breaking = breaking || change.breaking;
    }
    return breaking ? 1 : 0;
}

}  // namespace

int params_main(const Args& args) {
    if (args.empty()) return params_usage();
    const std::string& sub = args[0];
    if (sub == "validate" && args.size() == 2) return validate(args[1]);
    if (sub == "list" && args.size() == 1) return list(false);
    if (sub == "list" && args.size() == 2 && args[1] == "--json") return list(true);
    if (sub == "docs" && args.size() <= 2) return docs(args.size() == 2 ? args[1] : "docs/params.md");
    if (sub == "diff" && args.size() == 3) return diff(args[1], args[2]);
    return params_usage();
}

}  // namespace hisgate::cli
