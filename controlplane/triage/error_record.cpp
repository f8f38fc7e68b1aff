#include "controlplane/triage/error_record.h"

#include <algorithm>

namespace hisgate::controlplane::triage {

const char* to_string(Source s) {
    switch (s) {
        case Source::Answer: return "answer";
        case Source::Router: return "router";
        case Source::Event: return "event";
        case Source::Reconcile: return "reconcile";
    }
    return "answer";
}

namespace {
bool code_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}
bool tag_char(char c) { return c > ' ' && c < 0x7f; }

Error bad(const std::string& field, const std::string& expected, size_t found_bytes) {
    return make_error(ErrorClass::BadInput, "triage.bad_record",
                      "error record " + field + ": expected " + expected + ", found " + std::to_string(found_bytes) +
                          " bytes that are not");
}
}  // namespace

std::optional<Error> out_of_bounds(const ErrorRecord& r) {
    if (r.code.empty() || r.code.size() > kCodeBytes || !std::all_of(r.code.begin(), r.code.end(), code_char))
        return bad("code", "1 to " + std::to_string(kCodeBytes) + " characters of A-Z a-z 0-9 _ . -", r.code.size());
    const std::pair<const char*, const std::string*> tags[] = {{"tags.hospital", &r.tags.hospital},
                                                               {"tags.dialect", &r.tags.dialect},
                                                               {"tags.path", &r.tags.path},
                                                               {"tags.version", &r.tags.version},
                                                               {"tags.region", &r.tags.region}};
    for (const auto& [name, value] : tags)
        if (value->size() > kTagBytes || !std::all_of(value->begin(), value->end(), tag_char))
            return bad(name, "at most " + std::to_string(kTagBytes) + " printable ASCII characters without spaces",
                       value->size());
    if (!r.trace_id.empty() &&
        (r.trace_id.size() != 32 || r.trace_id.find_first_not_of("0123456789abcdef") != std::string::npos))
        return bad("trace_id", "32 lowercase hex digits", r.trace_id.size());
    return std::nullopt;
}

}  // namespace hisgate::controlplane::triage
