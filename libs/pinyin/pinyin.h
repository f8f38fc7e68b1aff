// Pinyin for search: a doctor named 王芳 is found by 王, by 芳, by "wang", "fang",
// "wangfang" and by the initials "wf" (issue 14); hospital and department names likewise.
//
// Readings come from Unihan's kMandarin field, toneless and lowercase, ü as 'v'; a
// heteronym gets its first (most common) reading only (pinyin/reading.h says which
// surnames that misses). Bytes that are not UTF-8 become U+FFFD, one per maximal subpart
// (pinyin/utf8.h), so everything returned here is valid UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hisgate::pinyin {

// The text as pieces: each Han character that has a reading becomes its syllable, and each
// run of other characters between them one piece, kept as it is but with ASCII letters
// lowercased. "王芳" -> {"wang", "fang"}; "Li Wei" -> {"li wei"};
// "Dr 王芳" -> {"dr ", "wang", "fang"}; "" -> {}. The pieces joined are the full pinyin.
std::vector<std::string> syllables(std::string_view utf8);

// What a patient's query is matched against, by substring: three lines,
//   the text itself (ill-formed bytes as U+FFFD, case kept),
//   its full pinyin (the pieces of syllables() joined),
//   its initials (each Han character as its syllable's first letter, the rest as in the
//   full pinyin).
// "王芳 主任医师" -> "王芳 主任医师\nwangfang zhurenyishi\nwf zrys". The lines are
// separated by '\n' so that a one-line query matches within one of them, never across.
// Latin letters are lowercase in the second and third lines: lowercase an ASCII query
// before searching. Syllables within a word are not separated, so "wang fang" (with a
// space) is not found; "wangfang" is.
std::string search_text(std::string_view utf8);

}  // namespace hisgate::pinyin
