// The dialects built into this program. Each registers itself from its own folder; this
// list only says which are compiled in.
#include "adapters/hl7v2/hl7v2_adapter.h"
#include "adapters/registry.h"
#include "adapters/rest/rest_adapter.h"
#include "adapters/soap/soap_adapter.h"
#include "common/check.h"

namespace hisgate {

const AdapterRegistry& AdapterRegistry::builtin() {
    static const AdapterRegistry registry = [] {
        AdapterRegistry r;
        for (auto register_dialect : {register_hl7v2_mllp, register_rest_json, register_soap_xml}) {
            auto added = register_dialect(r);
            HISGATE_CHECK(added.ok(), "error", added.error().describe());
        }
        return r;
    }();
    return registry;
}

}  // namespace hisgate
