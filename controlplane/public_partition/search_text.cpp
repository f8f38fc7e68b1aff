#include "controlplane/public_partition/search_text.h"

#include "pinyin/pinyin.h"

namespace hisgate::controlplane::public_partition {

std::string search_text(std::string_view text) { return pinyin::search_text(text); }

}  // namespace hisgate::controlplane::public_partition
