#include "common/log.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "common/trace.h"
#include "common/utc_time.h"

namespace hisgate::log {

namespace {
struct Sink {
    std::mutex mu;
    std::FILE* out = stderr;
    std::string path;  // of `out`; "" = stderr
    std::string process = "hisgate";
    Level min_level = Level::Info;
};

Sink& sink() {
    static Sink s;
    return s;
}

const char* level_name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warn";
        case Level::Error: return "error";
    }
    return "info";
}

bool is_phi_key(std::string_view key) {
    static constexpr std::string_view kPhiKeys[] = {
        "name", "patient_name", "family_name", "given_name", "phone", "phone_number", "mobile",
        "id_number", "id_card", "national_id", "ssn", "address", "birth_date", "dob", "email"};
    for (auto k : kPhiKeys)
        if (key == k) return true;
    return false;
}

}  // namespace

void init(std::string process, std::string path, Level min_level) {
    auto& s = sink();
    std::lock_guard lock(s.mu);
    s.process = std::move(process);
    s.min_level = min_level;
    if (path.empty() && s.out != stderr) {
        std::fclose(s.out);
        s.out = stderr;
        s.path.clear();
    }
    if (!path.empty()) {
        if (std::FILE* f = std::fopen(path.c_str(), "a")) {
            if (s.out != stderr) std::fclose(s.out);
            s.out = f;
            s.path = path;
        } else {
            std::fprintf(stderr, "cannot open log file %s; logging to stderr\n", path.c_str());
        }
    }
}

void reopen() {
    auto& s = sink();
    std::lock_guard lock(s.mu);
    if (s.path.empty()) return;
    std::FILE* f = std::fopen(s.path.c_str(), "a");
    if (!f) {
        std::fprintf(stderr, "cannot reopen log file %s; still writing the old one\n", s.path.c_str());
        return;
    }
    std::fclose(s.out);
    s.out = f;
}

void set_level(Level min_level) {
    auto& s = sink();
    std::lock_guard lock(s.mu);
    s.min_level = min_level;
}

// Replaces runs of 7+ digits (phone numbers, ID numbers; an ID may end in X) with '#'s of
// the same length shape "[redacted]". Short numbers (ports, counts, durations) survive.
std::string scrub(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] >= '0' && text[i] <= '9') {
            size_t j = i;
            while (j < text.size() && ((text[j] >= '0' && text[j] <= '9') || text[j] == '-' || text[j] == ' '))
                ++j;
            while (j > i && (text[j - 1] == '-' || text[j - 1] == ' ')) --j;  // separators only inside a run
            size_t digits = 0;
            for (size_t k = i; k < j; ++k) digits += (text[k] >= '0' && text[k] <= '9');
            bool hexish = (i > 0 && std::isxdigit(static_cast<unsigned char>(text[i - 1])) &&
                           !std::isdigit(static_cast<unsigned char>(text[i - 1]))) ||
                          (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j])) && text[j] != 'X' &&
                           text[j] != 'x');
            if (digits >= 7 && !hexish) {
                out += "[redacted]";
                if (j < text.size() && (text[j] == 'X' || text[j] == 'x')) ++j;
            } else {
                out.append(text.substr(i, j - i));
            }
            i = j;
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

void redact(nlohmann::json& fields) {
    if (fields.is_object()) {
        for (auto& [key, value] : fields.items()) {
            if (key == "trace_id" || key == "span_id" || key == "traceparent") continue;
            if (is_phi_key(key) && !value.is_null()) value = "[redacted]";
            else redact(value);
        }
    } else if (fields.is_array()) {
        for (auto& v : fields) redact(v);
    } else if (fields.is_string()) {
        fields = scrub(fields.get_ref<const std::string&>());
    }
}

void write(Level level, std::string_view event, nlohmann::json fields) {
    auto& s = sink();
    if (level < s.min_level) return;
    if (!fields.is_object()) fields = nlohmann::json{{"value", std::move(fields)}};
    redact(fields);
    nlohmann::json line = nlohmann::json::object();
    line["ts"] = iso_utc(std::chrono::system_clock::now(), 6);
    line["level"] = level_name(level);
    {
        std::lock_guard lock(s.mu);
        line["proc"] = s.process;
    }
    line["event"] = event;
    const auto& trace = current_trace();
    if (trace.valid() && !fields.contains("trace_id")) {
        line["trace_id"] = trace.trace_id;
        line["span_id"] = trace.span_id;
    }
    line.update(fields);
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.push_back('\n');
    std::lock_guard lock(s.mu);
    std::fwrite(text.data(), 1, text.size(), s.out);
    std::fflush(s.out);
}

}  // namespace hisgate::log
