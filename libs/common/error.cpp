#include "common/error.h"

namespace hisgate {

std::string_view to_string(ErrorClass c) {
    switch (c) {
        case ErrorClass::BadInput: return "bad_input";
        case ErrorClass::NotFound: return "not_found";
        case ErrorClass::Config: return "config";
        case ErrorClass::Unavailable: return "unavailable";
        case ErrorClass::Timeout: return "timeout";
        case ErrorClass::Protocol: return "protocol";
        case ErrorClass::Rejected: return "rejected";
        case ErrorClass::Internal: return "internal";
    }
    return "internal";
}

ErrorClass error_class_from_string(std::string_view s) {
    for (auto c : {ErrorClass::BadInput, ErrorClass::NotFound, ErrorClass::Config, ErrorClass::Unavailable,
                   ErrorClass::Timeout, ErrorClass::Protocol, ErrorClass::Rejected, ErrorClass::Internal})
        if (to_string(c) == s) return c;
    return ErrorClass::Internal;
}

std::string Error::describe() const { return code + ": " + message; }

}  // namespace hisgate
