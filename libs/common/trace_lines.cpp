#include "common/trace_lines.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace hisgate {

namespace {
// The fields that name a message to a HIS; a line naming the same id belongs to the trace.
constexpr const char* kLinkFields[] = {"hl7_control_id", "his_request_id"};

std::string string_field(const nlohmann::json& doc, const char* name) {
    auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

// The last `max_bytes` of a file, from the first whole line in them.
bool read_tail(const std::string& path, std::size_t max_bytes, std::string& text, bool& cut) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return false;
    const auto size = static_cast<std::size_t>(in.tellg());
    const std::size_t start = size > max_bytes ? size - max_bytes : 0;
    in.seekg(static_cast<std::streamoff>(start));
    text.assign(size - start, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (start > 0) {
        cut = true;
        auto nl = text.find('\n');
        text.erase(0, nl == std::string::npos ? text.size() : nl + 1);
    }
    return true;
}
}  // namespace

bool valid_trace_id(std::string_view id) {
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<TraceLines> trace_lines(const std::vector<std::string>& files, const std::string& trace_id,
                               TraceLineLimits limits) {
    if (!valid_trace_id(trace_id))
        return make_error(ErrorClass::BadInput, "trace.bad_id", "a trace id is 32 lowercase hex digits");
    TraceLines out;
    std::vector<nlohmann::json> all;
    for (const auto& file : files) {
        std::string text;
        if (!read_tail(file, limits.max_scan_bytes, text, out.truncated)) continue;
        ++out.files;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            // Only lines that could belong are parsed: the trace id, or a link field's name.
            bool maybe = line.find(trace_id) != std::string::npos;
            for (const char* field : kLinkFields) maybe = maybe || line.find(field) != std::string::npos;
            if (!maybe) continue;
            auto doc = nlohmann::json::parse(line, nullptr, false);
            if (doc.is_object()) all.push_back(std::move(doc));
        }
    }
    std::set<std::string> link_ids;
    for (const auto& l : all)
        if (string_field(l, "trace_id") == trace_id)
            for (const char* field : kLinkFields)
                if (auto id = string_field(l, field); !id.empty()) link_ids.insert(id);
    auto belongs = [&](const nlohmann::json& l) {
        if (string_field(l, "trace_id") == trace_id) return true;
        for (const char* field : kLinkFields)
            if (auto id = string_field(l, field); !id.empty() && link_ids.count(id)) return true;
        return false;
    };
    std::vector<nlohmann::json> picked;
    for (auto& l : all)
        if (belongs(l)) picked.push_back(std::move(l));
    std::stable_sort(picked.begin(), picked.end(),
                     [](const auto& a, const auto& b) { return string_field(a, "ts") < string_field(b, "ts"); });
    std::size_t kept_bytes = 0;
    for (auto& l : picked) {
        std::size_t bytes = l.dump().size();
        if (kept_bytes + bytes > limits.max_lines_bytes) {
            out.truncated = true;
            break;
        }
        kept_bytes += bytes;
        out.lines.push_back(std::move(l));
    }
    return out;
}

}  // namespace hisgate
