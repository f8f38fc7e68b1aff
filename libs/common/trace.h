// W3C trace context (traceparent: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>").
// One trace id travels with a patient request through every process and every log line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/random_id.h"  // trace and span ids

namespace hisgate {

struct TraceContext {
    std::string trace_id;  // 32 lowercase hex, never all zeros
    std::string span_id;   // 16 lowercase hex, never all zeros
    bool sampled = true;

    static TraceContext start();              // a new trace with a new root span
    TraceContext child() const;               // same trace, new span
    std::string traceparent() const;
    static std::optional<TraceContext> parse(std::string_view traceparent);
    bool valid() const { return !trace_id.empty(); }
};

// The trace the current thread is working for; log lines pick it up.
const TraceContext& current_trace();

class ScopedTrace {
public:
    explicit ScopedTrace(TraceContext ctx);
    ~ScopedTrace();
    ScopedTrace(const ScopedTrace&) = delete;
    ScopedTrace& operator=(const ScopedTrace&) = delete;

private:
    TraceContext saved_;
};

}  // namespace hisgate
