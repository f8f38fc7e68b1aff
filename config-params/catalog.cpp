#include "config-params/catalog.h"

#include <algorithm>
#include <filesystem>

#include "common/config.h"
#include "config-params/builtin_fragments.h"
#include "config-params/json_text.h"
#include "config-params/value_types.h"

namespace hisgate::params {

namespace fs = std::filesystem;

namespace {

void read_fragment(const Fragment& fragment, std::vector<ParamDef>& defs, Problems& problems) {
    auto doc = parse_json(fragment.text, problems);
    if (!doc) return;
    auto parameters = doc->is_object() ? doc->find("parameters") : doc->end();
    if (!doc->is_object() || parameters == doc->end() || !parameters->is_array() || doc->size() != 1) {
        problems.add("(top level)", "{\"parameters\": [...]} and nothing else", describe_json_type(*doc));
        return;
    }
    for (size_t i = 0; i < parameters->size(); ++i) {
        auto def = parse_definition((*parameters)[i], fragment.area, "parameters[" + std::to_string(i) + "]", problems);
        if (def) defs.push_back(std::move(*def));
    }
}

// The invariants that need every definition: unique names, no name inside another's
// group, required_when naming a parameter with a value it accepts.
void check_merged(const Catalog& catalog, const std::map<std::string, std::string>& origin, Problems& problems) {
    for (const auto& def : catalog.all()) {
        for (size_t dot = def.name.find('.'); dot != std::string::npos; dot = def.name.find('.', dot + 1)) {
            std::string group = def.name.substr(0, dot);
            if (catalog.find(group)) {
                problems.add(def.name, "a name outside the parameter " + group + " (a parameter cannot also be a group)",
                             "a parameter below it in " + origin.at(def.name));
            }
        }
        for (const auto& [name, value] : def.required_when.items()) {
            const ParamDef* condition = catalog.find(name);
            Problems bad;
            if (condition) check_value(*condition, value, name, bad);
            if (!condition || !bad.empty()) {
                problems.add(def.name + ".required_when." + name,
                             condition ? describe_expected(*condition) : "the name of a catalog parameter",
                             describe_json_type(value) + " in " + origin.at(def.name));
            }
        }
    }
}

}  // namespace

Result<Catalog> Catalog::from_fragments(const std::vector<Fragment>& fragments) {
    Catalog catalog;
    std::string errors;
    std::map<std::string, std::string> origin;  // name -> fragment source
    auto report = [&](const Problems& p, const std::string& source) {
        if (!p.empty()) errors += (errors.empty() ? "" : "\n") + p.lines(source);
    };
    for (const auto& fragment : fragments) {
        Problems problems;
        std::vector<ParamDef> defs;
        read_fragment(fragment, defs, problems);
        for (auto& def : defs) {
            auto [it, fresh] = origin.emplace(def.name, fragment.source);
            if (!fresh) {
                problems.add(def.name, "a name defined once in the whole catalog", "a second definition (the first is in " + it->second + ")");
                continue;
            }
            catalog.defs_.push_back(std::move(def));
        }
        report(problems, fragment.source);
    }
    std::sort(catalog.defs_.begin(), catalog.defs_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (size_t i = 0; i < catalog.defs_.size(); ++i) catalog.index_[catalog.defs_[i].name] = i;
    Problems merged;
    check_merged(catalog, origin, merged);
    report(merged, "catalog");
    if (!errors.empty()) return make_error(ErrorClass::Config, "params.catalog_invalid", errors);
    return catalog;
}

const Result<Catalog>& Catalog::builtin() {
    static const Result<Catalog> catalog = from_fragments(builtin_fragments());
    return catalog;
}

Result<Catalog> Catalog::load(const std::string& path) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        for (const auto& entry : fs::directory_iterator(path, ec)) {
            if (entry.path().extension() == ".json") files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        if (files.empty() && !ec) {
            return make_error(ErrorClass::Config, "params.unreadable", path + ": expected catalog fragments (*.json), found none");
        }
    } else {
        files.push_back(path);
    }
    std::vector<Fragment> fragments;
    for (const auto& file : files) {
        auto text = ec ? std::nullopt : read_text_file(file.string());
        if (!text) return make_error(ErrorClass::Config, "params.unreadable", file.string() + ": cannot read the file");
        fragments.push_back({file.string(), file.stem().string(), std::move(*text)});
    }
    return from_fragments(fragments);
}

const ParamDef* Catalog::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &defs_[it->second];
}

bool Catalog::is_group(const std::string& prefix) const {
    auto it = index_.lower_bound(prefix + ".");
    return it != index_.end() && it->first.compare(0, prefix.size() + 1, prefix + ".") == 0;
}

std::vector<std::string> Catalog::children(const std::string& prefix) const {
    std::string start = prefix.empty() ? "" : prefix + ".";
    std::vector<std::string> out;
    for (auto it = index_.lower_bound(start); it != index_.end() && it->first.compare(0, start.size(), start) == 0; ++it) {
        std::string child = it->first.substr(start.size(), it->first.find('.', start.size()) - start.size());
        if (out.empty() || out.back() != child) out.push_back(child);
    }
    return out;
}

nlohmann::json Catalog::to_json() const {
    nlohmann::json parameters = nlohmann::json::array();
    for (const auto& def : defs_) parameters.push_back(params::to_json(def));
    return {{"parameters", parameters}};
}

}  // namespace hisgate::params
