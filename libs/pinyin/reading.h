// The pinyin reading of one Han character.
#pragma once

#include <string_view>

namespace hisgate::pinyin {

// The toneless, lowercase pinyin of `cp` from Unihan's kMandarin field ("wang" for 王), or
// empty when Unihan gives `cp` no Mandarin reading (every non-Han character, and some rare
// Han ones). ü is spelled 'v' ("lv" for 绿), as pinyin keyboards type it.
//
// Heteronyms get their first kMandarin reading only, the most common one: 长 is "zhang",
// never "chang", and the surname readings of 曾 (zeng), 单 (shan), 解 (xie), 仇 (qiu),
// 朴 (piao), 区 (ou) are not found (their kMandarin readings are ceng, dan, jie, chou, pu, qu).
//
// The view points into static storage. No allocation: one binary search over the table.
std::string_view reading(char32_t cp);

}  // namespace hisgate::pinyin
