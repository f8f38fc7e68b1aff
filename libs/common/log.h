// JSON-lines logging. Every line carries the time, level, process, event name and the
// current trace id (see common/trace.h), so `hisgate trace <id>` can find the whole path.
//
// Invariant: no PHI leaves through a log line. Fields whose key names PHI (name, phone,
// id_number, ...) are replaced by "[redacted]", and every string value is scrubbed of
// digit runs that look like ID or phone numbers. Never log raw HL7 or request bodies.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hisgate::log {

enum class Level { Debug, Info, Warn, Error };

// Process-wide setup; call once at start. An empty path logs to stderr.
void init(std::string process, std::string path = {}, Level min_level = Level::Info);
// Opens the log file again by its path (after logrotate renamed it: SIGHUP, see
// wait_for_shutdown in common/program.h); lines already written stay in the renamed file.
// Logging to stderr, nothing happens. When the path cannot be opened the old file is kept.
void reopen();
void set_level(Level min_level);

void write(Level level, std::string_view event, nlohmann::json fields = nlohmann::json::object());
inline void debug(std::string_view e, nlohmann::json f = nlohmann::json::object()) { write(Level::Debug, e, std::move(f)); }
inline void info(std::string_view e, nlohmann::json f = nlohmann::json::object()) { write(Level::Info, e, std::move(f)); }
inline void warn(std::string_view e, nlohmann::json f = nlohmann::json::object()) { write(Level::Warn, e, std::move(f)); }
inline void error(std::string_view e, nlohmann::json f = nlohmann::json::object()) { write(Level::Error, e, std::move(f)); }

// Exposed for tests: the redaction applied to every line.
std::string scrub(std::string_view text);
void redact(nlohmann::json& fields);

}  // namespace hisgate::log
