// Ids and uploaded file names. Any bytes: a name ValidateName accepts cannot
// leave its folder, every slug passes ValidateName, and a file name
// ValidateFileName accepts is well-formed UTF-8 (checked here by the table of
// well-formed byte sequences in the Unicode standard, §3.9 table 3-7) without
// control characters.
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "common/ids.h"

namespace {

using dvs::fuzz::Check;

bool InRange(unsigned char c, unsigned char low, unsigned char high) {
  return c >= low && c <= high;
}

// The length of the well-formed sequence at `text`, or 0.
size_t WellFormedLength(std::string_view text) {
  auto at = [&](size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0; };
  unsigned char c = at(0);
  if (c <= 0x7F) return 1;
  if (InRange(c, 0xC2, 0xDF)) return InRange(at(1), 0x80, 0xBF) ? 2 : 0;
  unsigned char low = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char high = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (InRange(c, 0xE0, 0xEF)) {
    return InRange(at(1), low, high) && InRange(at(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (InRange(c, 0xF0, 0xF4)) {
    return InRange(at(1), low, high) && InRange(at(2), 0x80, 0xBF) && InRange(at(3), 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

bool IsWellFormedUtf8(std::string_view text) {
  while (!text.empty()) {
    size_t length = WellFormedLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (dvs::common::ValidateName(input, "name").ok()) {
    Check(!input.empty() && input.size() <= dvs::common::kMaxNameLength);
    Check(input.find_first_of(std::string_view("/\\\0%", 4)) == std::string_view::npos);
    Check(input.find("..") == std::string_view::npos && input.front() != '.');
  }
  absl::StatusOr<std::string> slug = dvs::common::SlugFromFilename(input);
  if (slug.ok()) Check(dvs::common::ValidateName(*slug, "video id").ok());
  if (dvs::common::ValidateFileName(input).ok()) {
    Check(IsWellFormedUtf8(input) && input.size() <= dvs::common::kMaxFileNameBytes);
    for (unsigned char c : input) Check(c >= 0x20 && c != 0x7F);
    Check(input.find("\xE2\x80\xAE") == std::string_view::npos);  // U+202E
  }
  return 0;
}
