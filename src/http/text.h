// Private to the http module: the few std::string_view helpers the parsers
// need. Debian's Abseil has its own absl::string_view type, so its string
// utilities do not take std::string_view. Pure functions.
#pragma once

#include <string_view>
#include <vector>

namespace dvs::http::internal {

inline constexpr std::string_view kWhitespace = " \t\r\n";

inline char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

inline bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

inline std::string_view StripLeadingWhitespace(std::string_view text) {
  size_t start = text.find_first_not_of(kWhitespace);
  return start == std::string_view::npos ? std::string_view() : text.substr(start);
}

inline std::string_view StripTrailingWhitespace(std::string_view text) {
  size_t end = text.find_last_not_of(kWhitespace);
  return end == std::string_view::npos ? std::string_view() : text.substr(0, end + 1);
}

inline std::string_view StripWhitespace(std::string_view text) {
  return StripTrailingWhitespace(StripLeadingWhitespace(text));
}

// Every piece between separators, empty ones included: Split("a,,b", ",")
// is {"a", "", "b"}; Split("", ",") is {""}.
inline std::vector<std::string_view> Split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (size_t found; (found = text.find(separator, start)) != std::string_view::npos;
       start = found + separator.size()) {
    pieces.push_back(text.substr(start, found - start));
  }
  pieces.push_back(text.substr(start));
  return pieces;
}

}  // namespace dvs::http::internal
