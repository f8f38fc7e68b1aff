// The text a name is searched by: the name as written, Latin lowercased, and for Han
// characters their pinyin in full and by initials (libs/pinyin), so 王芳 is found by 王, 芳,
// wang, fang, wangfang and wf.
#pragma once

#include <string>
#include <string_view>

namespace hisgate::controlplane::public_partition {

std::string search_text(std::string_view text);

}  // namespace hisgate::controlplane::public_partition
