#include "controlplane/idempotency_store.h"

#include "common/digest.h"

namespace hisgate::controlplane {

bool valid_idempotency_key(const std::string& key) {
    if (key.empty() || key.size() > kMaxIdempotencyKey) return false;
    for (char c : key) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

std::string IdempotencyStore::order_request_id(const std::string& hospital_id, const std::string& type,
                                               const std::string& patient_id, const std::string& order_id) const {
    // Each part length-prefixed, so no two different tuples make the same text.
    std::string text;
    for (const std::string* part : {&hospital_id, &type, &patient_id, &order_id})
        text += std::to_string(part->size()) + ":" + *part + ";";
    return hmac_sha256_hex(secret(), text).substr(0, 32);
}

}  // namespace hisgate::controlplane
