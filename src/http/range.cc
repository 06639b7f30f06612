#include "http/range.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "http/text.h"

namespace dvs::http {
namespace {

// A run of digits; values too large for uint64_t saturate, since they are
// past the end of any file either way. nullopt when not all digits.
std::optional<uint64_t> ParsePosition(std::string_view text) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) {
    return std::nullopt;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(common::AsAbsl(text), &value)) return std::numeric_limits<uint64_t>::max();
  return value;
}

absl::Status NotSatisfiable(uint64_t size) {
  return absl::OutOfRangeError(absl::StrCat("range not satisfiable for ", size, " bytes"));
}

// "-n": the last n bytes.
absl::StatusOr<std::optional<ResolvedRange>> ResolveSuffix(std::string_view digits, uint64_t size) {
  std::optional<uint64_t> count = ParsePosition(digits);
  if (!count) return std::nullopt;
  if (*count == 0 || size == 0) return NotSatisfiable(size);
  uint64_t length = std::min(*count, size);
  return ResolvedRange{size - length, length};
}

// "a-b" or "a-".
absl::StatusOr<std::optional<ResolvedRange>> ResolveSpan(std::string_view first_text,
                                                         std::string_view last_text,
                                                         uint64_t size) {
  std::optional<uint64_t> first = ParsePosition(first_text);
  if (!first) return std::nullopt;
  uint64_t last = std::numeric_limits<uint64_t>::max();
  if (!last_text.empty()) {
    std::optional<uint64_t> parsed = ParsePosition(last_text);
    if (!parsed || *parsed < *first) return std::nullopt;  // invalid: ignore the header
    last = *parsed;
  }
  if (*first >= size) return NotSatisfiable(size);
  last = std::min(last, size - 1);
  return ResolvedRange{*first, last - *first + 1};
}

}  // namespace

absl::StatusOr<std::optional<ResolvedRange>> ResolveRange(std::optional<std::string_view> header,
                                                          uint64_t size) {
  if (!header) return std::nullopt;
  std::string_view spec = internal::StripWhitespace(*header);
  if (!internal::EqualsIgnoreCase(spec.substr(0, 5), "bytes")) return std::nullopt;
  spec = internal::StripLeadingWhitespace(spec.substr(5));
  if (!spec.starts_with("=")) return std::nullopt;
  spec.remove_prefix(1);
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // several ranges: send all
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view first = internal::StripWhitespace(spec.substr(0, dash));
  std::string_view last = internal::StripWhitespace(spec.substr(dash + 1));
  if (first.empty()) return ResolveSuffix(last, size);
  return ResolveSpan(first, last, size);
}

std::string ContentRangeValue(const ResolvedRange& range, uint64_t size) {
  return absl::StrCat("bytes ", range.offset, "-", range.offset + range.length - 1, "/", size);
}

}  // namespace dvs::http
