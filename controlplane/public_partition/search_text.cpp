#include "controlplane/public_partition/search_text.h"

namespace hisgate::controlplane::public_partition {

std::string search_text(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace hisgate::controlplane::public_partition
