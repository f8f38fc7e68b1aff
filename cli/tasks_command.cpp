// `hisgate tasks <task id> [--json]`: one request as the control plane keeps it (GET
// /api/v1/tasks/<id>, any instance): pending, answered, expired or delivered, its hospital
// and type, its error's class, code and message. A result's fields are named, not printed
// (they may hold a patient's report: --json shows all of it, to an operator who asks).
// Exit 0 when the task is finished without an error, 1 when it failed, is still pending,
// or the API refused or could not be reached (its code and message printed), 2 on bad
// arguments.
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kTasksUsage = "usage: hisgate tasks <task id> [--json] [--url URL] [--token-file F]\n";

void print_task(const nlohmann::json& task) {
    std::printf("task      %s\n", field_text(task, "taskId").c_str());
    std::printf("status    %s\n", field_text(task, "status").c_str());
    if (task.contains("hospitalId")) std::printf("hospital  %s\n", field_text(task, "hospitalId").c_str());
    if (task.contains("type")) std::printf("type      %s\n", field_text(task, "type").c_str());
    if (auto e = task.find("error"); e != task.end() && e->is_object())
        std::printf("error     %s %s: %s\n", field_text(*e, "class").c_str(), field_text(*e, "code").c_str(),
                    field_text(*e, "message").c_str());
    if (auto r = task.find("result"); r != task.end()) {
        std::string fields;
        if (r->is_object())
            for (const auto& [key, value] : r->items()) fields += (fields.empty() ? "" : ", ") + key;
        std::printf("result    %s (--json shows it)\n", fields.empty() ? "a value" : fields.c_str());
    }
    if (field_text(task, "status") == "pending") std::printf("poll      %s\n", field_text(task, "poll").c_str());
}
}  // namespace

int tasks_main(const Args& given) {
    Args args = given;
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate tasks: %s\n", target.error().message.c_str());
        return 2;
    }
    std::string task_id;
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json") json = true;
        else if (a == "--help" || a == "-h") {
            std::printf("%s", kTasksUsage);
            return 0;
        } else if (task_id.empty() && a.rfind("--", 0) != 0) task_id = a;
        else {
            std::fprintf(stderr, "hisgate tasks: unexpected argument '%s'\n%s", a.c_str(), kTasksUsage);
            return 2;
        }
    }
    if (task_id.empty()) {
        std::fprintf(stderr, "hisgate tasks: which task? (the taskId or Task-Id of an API answer)\n%s", kTasksUsage);
        return 2;
    }
    auto found = api_get(*target, "/api/v1/tasks/" + url_encode(task_id));
    if (!found) {
        std::fprintf(stderr, "hisgate tasks: %s\n", found.error().describe().c_str());
        return 1;
    }
    if (json) std::printf("%s\n", found->dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else print_task(*found);
    const std::string status = field_text(*found, "status");
    return (status == "answered" || status == "delivered") && !found->contains("error") ? 0 : 1;
}

}  // namespace hisgate::cli
