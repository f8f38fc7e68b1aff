// The SOAP 1.1 over HTTP(S) adapter (adapters/http/his_http.h). Every operation is one POST to
// his.endpoint with SOAPAction = his.soap.action_prefix + the operation's name:
//   report            GetReport         ReportId -> ReportId, PatientId, PatientSex, Title, Status, IssuedAt, Observation*
//   patient's reports ListReports       PatientId -> PatientId, Report* (ReportId, Title, Status, IssuedAt)
//   reference data    GetReferenceData  FromDate, ToDate -> FromDate, ToDate, Department*, Doctor*, Slot*
//   book / cancel     BookAppointment / CancelAppointment  OrderId (SlotId, PatientId, PatientSex?) -> OrderId, SlotId, PatientId, PatientSex, Status
//   booking status    GetBookingStatus  OrderId -> OrderId, SlotId, PatientId, Status (not_found: none held)
//   pay / refund      Pay / Refund      OrderId, Amount, Method -> OrderId, Amount, Status
//   payment status    GetPaymentStatus  OrderId -> OrderId, Amount, Status
//   daily statement   GetStatement      Date -> Date, Line* (OrderId, Kind, Amount)
// Answers are <Operation>Response elements, refusals SOAP faults whose detail/Code is the
// vendor's error code (mapped by his.error_map). An answer repeats the request's key
// (ReportId, PatientId, FromDate and ToDate, OrderId, Date); another operation's answer or
// another key is Protocol "his.mismatched_answer", asked again within his.max_attempts if
// it was a read. Element names are hisgate's unless
// his.soap.field_map renames them.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "adapters/registry.h"
#include "config-params/param_set.h"

namespace hisgate {

// Errors: Config (params.invalid) naming the parameter that is wrong.
Result<std::unique_ptr<HisAdapter>> make_soap_adapter(const params::ParamSet& p);
// Registers make_soap_adapter as "soap-xml".
Result<void> register_soap_xml(AdapterRegistry& registry);

}  // namespace hisgate
