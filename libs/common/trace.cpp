#include "common/trace.h"


namespace hisgate {

namespace {
thread_local TraceContext t_current;

bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }
}  // namespace

TraceContext TraceContext::start() { return TraceContext{random_hex(16), random_hex(8), true}; }

TraceContext TraceContext::child() const {
    if (!valid()) return start();
    return TraceContext{trace_id, random_hex(8), sampled};
}

std::string TraceContext::traceparent() const {
    return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00");
}

std::optional<TraceContext> TraceContext::parse(std::string_view tp) {
    // 00-<32>-<16>-<2>: exactly 55 characters for version 00.
    if (tp.size() != 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
    std::string_view version = tp.substr(0, 2), trace = tp.substr(3, 32), span = tp.substr(36, 16),
                     flags = tp.substr(53, 2);
    if (version != "00" || !is_lower_hex(trace) || !is_lower_hex(span) || !is_lower_hex(flags)) return std::nullopt;
    if (all_zero(trace) || all_zero(span)) return std::nullopt;
    return TraceContext{std::string(trace), std::string(span), (flags[1] - '0') % 2 == 1};
}

const TraceContext& current_trace() { return t_current; }

ScopedTrace::ScopedTrace(TraceContext ctx) : saved_(std::move(t_current)) { t_current = std::move(ctx); }
ScopedTrace::~ScopedTrace() { t_current = std::move(saved_); }

}  // namespace hisgate
