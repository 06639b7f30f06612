#include "common/ids.h"

#include <optional>

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

struct CodePoint {
  char32_t value;
  size_t length;  // in bytes
};

// The code point `text` starts with, or nullopt when its first bytes are not
// well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF are
// not). `text` is not empty.
std::optional<CodePoint> DecodeUtf8(std::string_view text) {
  auto byte = [text](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return CodePoint{lead, 1};
  size_t length = (lead & 0xE0) == 0xC0   ? 2
                  : (lead & 0xF0) == 0xE0 ? 3
                  : (lead & 0xF8) == 0xF0 ? 4
                                          : 0;
  if (length == 0 || text.size() < length) return std::nullopt;
  constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  char32_t value = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return std::nullopt;
    value = value << 6 | (byte(i) & 0x3F);
  }
  if (value < kSmallest[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return std::nullopt;
  }
  return CodePoint{value, length};
}

bool IsControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

bool IsBidiOverride(char32_t c) {
  return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
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

absl::Status ValidateFolder(std::string_view folder, std::string_view what) {
  if (folder.empty()) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " is empty"));
  size_t slash = folder.find('/');
  if (slash == std::string_view::npos) return ValidateName(folder, what);
  if (folder.find('/', slash + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), " has more than two parts (video_id/generation)"));
  }
  std::string_view id = folder.substr(0, slash);
  std::string_view generation = folder.substr(slash + 1);
  if (id.empty() || generation.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " has an empty part"));
  }
  RETURN_IF_ERROR(ValidateName(id, absl::StrCat(AsAbsl(what), "'s video id")));
  return ValidateName(generation, absl::StrCat(AsAbsl(what), "'s generation"));
}

absl::Status ValidateFileName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("the file name is empty");
  if (name.size() > kMaxFileNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file name is longer than ", kMaxFileNameBytes, " bytes"));
  }
  for (size_t i = 0; i < name.size();) {
    std::optional<CodePoint> c = DecodeUtf8(name.substr(i));
    if (!c) return absl::InvalidArgumentError("the file name is not valid UTF-8");
    if (IsControl(c->value)) {
      return absl::InvalidArgumentError("the file name contains a control character");
    }
    if (IsBidiOverride(c->value)) {
      return absl::InvalidArgumentError(
          "the file name contains a bidirectional override character (U+202A-U+202E, "
          "U+2066-U+2069), which can disguise it");
    }
    i += c->length;
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
