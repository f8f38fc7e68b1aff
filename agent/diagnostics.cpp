#include "agent/diagnostics.h"

#include "common/digest.h"
#include "common/subprocess.h"
#include "config-params/json_text.h"
#include "common/trace_lines.h"
#include "transport/limits.h"

namespace hisgate::agent {

namespace {
// Room for the envelope around the lines within one answer (limits::kAnswerBytes).
constexpr std::size_t kLinesBytes = limits::kAnswerBytes / 2;
constexpr std::size_t kDoctorOutputBytes = 1u << 20;
}  // namespace

Result<nlohmann::json> trace_lines_of(const Diagnostics& d, const nlohmann::json& body) {
    auto id = body.find("traceId");
    if (id == body.end() || !id->is_string())
        return make_error(ErrorClass::BadInput, "request.invalid", "logs.get needs body.traceId, 32 lowercase hex digits");
    if (d.log_file.empty())
        return make_error(ErrorClass::Config, "logs.none", "this agent logs to stderr only (no log.file in its config)");
    auto found = trace_lines({d.log_file}, id->get<std::string>(), {.max_lines_bytes = kLinesBytes});
    if (!found) return found.error();
    if (found->files == 0)
        return make_error(ErrorClass::Unavailable, "logs.unreadable", "the agent cannot read its own log file");
    return nlohmann::json{{"process", d.process}, {"lines", std::move(found->lines)}, {"truncated", found->truncated}};
}

Result<nlohmann::json> run_doctor(const Diagnostics& d, const Clock& clock) {
    if (d.doctor_command.empty())
        return make_error(ErrorClass::Config, "doctor.unavailable", "this agent was started without a config file to check");
    auto ran = run_subprocess(d.doctor_command, d.doctor_timeout, kDoctorOutputBytes, clock);
    // Never retried by the queue (an operator asks again): a doctor that hung once costs once.
    if (!ran) return make_error(ErrorClass::Internal, ran.error().code, "the doctor failed: " + ran.error().message);
    // 0: nothing failed, 1: a check failed; both print the findings. 2: the config cannot be used.
    auto doc = nlohmann::json::parse(ran->output, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("checks"))
        return make_error(ErrorClass::Internal, "doctor.unreadable",
                          "the doctor ended with status " + std::to_string(ran->exit_status) + " without its findings");
    doc["exitStatus"] = ran->exit_status;
    return doc;
}

Result<nlohmann::json> parameter_file_of(const Diagnostics& d) {
    constexpr size_t kMaxParamsFileBytes = 4 * 1024 * 1024;  // as params::parse_json bounds a file
    if (d.params_file.empty()) return make_error(ErrorClass::NotFound, "params.none", "this agent has no parameter file");
    auto text = params::read_text_file(d.params_file);
    if (!text) return make_error(ErrorClass::Unavailable, "params.unreadable", "the parameter file cannot be read");
    if (text->size() > kMaxParamsFileBytes)
        return make_error(ErrorClass::BadInput, "params.invalid", "the parameter file is over 4 MiB");
    params::Problems problems;
    auto doc = params::parse_json(*text, problems);
    if (!doc || !doc->is_object())
        return make_error(ErrorClass::BadInput, "params.invalid", "the parameter file is not a JSON object");
    // The hash of the same canonical form as the birth's paramsHash (config-params/param_set.h).
    std::string hash = sha256_hex(doc->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return nlohmann::json{{"params", std::move(*doc)}, {"paramsHash", std::move(hash)}};
}

}  // namespace hisgate::agent
