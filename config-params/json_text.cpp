#include "config-params/json_text.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "common/bounded_json.h"
#include "config-params/value_types.h"

namespace hisgate::params {

namespace {

// Where the parser is, so a duplicate key can be reported with its JSON path.
struct Frame {
    bool array = false;
    std::string path;
    std::set<std::string> keys;
    std::string last_key;
    size_t next_index = 0;
};

std::string child_path(Frame& parent) {
    if (parent.array) return parent.path + "[" + std::to_string(parent.next_index++) + "]";
    return parent.path.empty() ? parent.last_key : parent.path + "." + parent.last_key;
}

// nlohmann reports the offset just past the offending character; lines and columns count from 1.
std::string position(const std::string& text, size_t byte) {
    size_t end = std::min(byte == 0 ? 0 : byte - 1, text.size());
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(end - line_start + 1);
}

// "...parse error at line 1, column 8: syntax error while ..." -> "syntax error while ..."
std::string explanation(const std::string& what) {
    auto column = what.find("column ");
    auto colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
    return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

std::optional<nlohmann::json> parse_json(const std::string& text, Problems& problems) {
    std::vector<Frame> frames;
    size_t before = problems.size();
    auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (event) {
            case E::object_start:
            case E::array_start: {
                Frame f;
                f.array = event == E::array_start;
                if (!frames.empty()) f.path = child_path(frames.back());
                frames.push_back(std::move(f));
                break;
            }
            case E::object_end:
            case E::array_end: frames.pop_back(); break;
            case E::key: {
                Frame& top = frames.back();
                top.last_key = parsed.get<std::string>();
                if (!top.keys.insert(top.last_key).second) {
                    problems.add(top.path.empty() ? top.last_key : top.path + "." + top.last_key,
                                 "each key once per object", "the key \"" + top.last_key + "\" a second time");
                }
                break;
            }
            case E::value:
                if (!frames.empty() && frames.back().array) ++frames.back().next_index;
                break;
        }
        return true;
    };
    if (text.size() > kMaxFileBytes) {
        problems.add("(top level)", "a file of at most " + std::to_string(kMaxFileBytes) + " bytes",
                     std::to_string(text.size()) + " bytes");
        return std::nullopt;
    }
    if (json_depth(text) > kMaxJsonDepth) {
        problems.add("(top level)", "arrays and objects nested at most " + std::to_string(kMaxJsonDepth) + " levels deep",
                     "deeper nesting");
        return std::nullopt;
    }
    try {
        auto doc = nlohmann::json::parse(text, callback);
        if (problems.size() != before) return std::nullopt;
        return doc;
    } catch (const nlohmann::json::parse_error& e) {
        problems.add(position(text, e.byte), "valid JSON", explanation(e.what()));
        return std::nullopt;
    }
}

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

}  // namespace hisgate::params
