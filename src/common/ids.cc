#include "common/ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace dvs::common {
namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// The last path component, for either separator: browsers on Windows may send
// "C:\fakepath\clip.mp4".
std::string_view BaseName(std::string_view path) {
  size_t cut = path.find_last_of("/\\");
  return cut == std::string_view::npos ? path : path.substr(cut + 1);
}

std::string_view Stem(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

absl::Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " is empty"));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), " is longer than ", kMaxNameLength, " characters"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name.front()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), " must start with a letter or digit"));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(AsAbsl(what), " may contain only letters, digits, '.', '_' and '-'"));
    }
  }
  if (name.find("..") != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " must not contain \"..\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SlugFromFilename(std::string_view filename) {
  std::string slug;
  for (char c : Stem(BaseName(filename))) {
    bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    if (keep) {
      slug.push_back(c);
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && !absl::ascii_isalnum(static_cast<unsigned char>(slug.front()))) {
    slug.erase(slug.begin());
  }
  if (slug.size() > kMaxNameLength) slug.resize(kMaxNameLength);
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot make a video id from the file name \"",
                                                   AsAbsl(filename),
                                                   "\": it needs letters or digits"));
  }
  RETURN_IF_ERROR(ValidateName(slug, "video id"));
  return slug;
}

}  // namespace dvs::common
