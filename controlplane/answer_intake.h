// What the control plane does with each message on its response topic
// (hisgate/v1/hospitals/+/response/<instance>): an agent's word that it stored a request
// stops the re-sending; an answer is kept by request id (TaskResults::record, which takes it
// only from the hospital the request went to) before the waiting caller, if any, gets it
// (Requester::deliver). A message that cannot be read is logged and dropped; nothing here
// throws or trusts the payload.
#pragma once

#include "controlplane/task_results.h"
#include "transport/mqtt_link.h"
#include "transport/requester.h"

namespace hisgate::controlplane {

void take_answer(TaskResults& results, Requester& requester, const IncomingMessage& m);

}  // namespace hisgate::controlplane
