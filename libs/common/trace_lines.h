// The log lines of one trace, from JSON-lines log files (common/log.h writes them): every
// line carrying the trace id, and every line naming an id a carrying line names (an HL7
// control id, a HIS request id: a HIS does not carry our trace context, so its side of a
// hop is linked by the message's own id). Used by `hisgate trace` on local files, by an
// agent answering `logs.get` for the control plane (agents sit behind one-way firewalls),
// and by the control plane for its own lines.
//
// Bounded: at most `max_scan_bytes` are read, from the end of each file (the newest lines;
// a trace asked about is usually recent), and at most `max_lines_bytes` of lines are
// kept, the earliest first; `truncated` says when either bound cut something off. Lines
// that are not JSON objects (a torn last line, another program's output) are skipped.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate {

struct TraceLineLimits {
    std::size_t max_scan_bytes = 64u << 20;   // per file
    std::size_t max_lines_bytes = 1u << 20;   // all lines kept, as JSON text
};

struct TraceLines {
    std::vector<nlohmann::json> lines;  // in time order ("ts")
    bool truncated = false;
    std::size_t files = 0;  // files read
};

// 32 lowercase hex digits (a W3C trace id).
bool valid_trace_id(std::string_view id);

// Files that cannot be opened are skipped (counted out of `files`); an invalid trace id is
// BadInput "trace.bad_id".
Result<TraceLines> trace_lines(const std::vector<std::string>& files, const std::string& trace_id,
                               TraceLineLimits limits = {});

}  // namespace hisgate
