#include "http/range.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "http/text.h"

namespace dvs::http {
namespace {

using internal::StripWhitespace;

// More ranges than any player asks for; a longer list is refused rather
// than sorted (RFC 9110 §14.2 lets a server reject "many small ranges").
constexpr size_t kMaxRanges = 100;

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

absl::Status Malformed(std::string_view spec) {
  return absl::OutOfRangeError(
      absl::StrCat("malformed byte range \"", common::AsAbsl(spec.substr(0, 64)), "\""));
}

// One range-spec ("a-b", "a-" or "-n") against a file of `size` bytes:
// nullopt when it is well-formed but lies past the end, OutOfRange when it
// is malformed (RFC 9110 §14.1.1: a last position before the first is).
absl::StatusOr<std::optional<ResolvedRange>> ResolveSpec(std::string_view spec, uint64_t size) {
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return Malformed(spec);
  std::string_view first_text = StripWhitespace(spec.substr(0, dash));
  std::string_view last_text = StripWhitespace(spec.substr(dash + 1));
  std::optional<uint64_t> last = ParsePosition(last_text);
  if (first_text.empty()) {  // the last `last` bytes
    if (!last) return Malformed(spec);
    if (*last == 0 || size == 0) return std::nullopt;
    uint64_t length = std::min(*last, size);
    return ResolvedRange{size - length, length};
  }
  std::optional<uint64_t> first = ParsePosition(first_text);
  if (!first || (!last_text.empty() && (!last || *last < *first))) return Malformed(spec);
  if (*first >= size) return std::nullopt;
  uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return ResolvedRange{*first, end - *first + 1};
}

// The satisfiable ranges of a range-set; empty list elements are skipped.
absl::StatusOr<std::vector<ResolvedRange>> ResolveSet(std::string_view set, uint64_t size) {
  std::vector<ResolvedRange> ranges;
  size_t specs = 0;
  for (std::string_view element : internal::Split(set, ",")) {
    std::string_view spec = StripWhitespace(element);
    if (spec.empty()) continue;
    if (++specs > kMaxRanges) {
      return absl::OutOfRangeError(absl::StrCat("more than ", kMaxRanges, " byte ranges"));
    }
    absl::StatusOr<std::optional<ResolvedRange>> range = ResolveSpec(spec, size);
    if (!range.ok()) return range.status();
    if (*range) ranges.push_back(**range);
  }
  if (specs == 0) return Malformed(set);
  if (ranges.empty()) return NotSatisfiable(size);
  return ranges;
}

// One range when `ranges` overlap or touch into one span, else nullopt.
std::optional<ResolvedRange> Coalesce(std::vector<ResolvedRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const ResolvedRange& a, const ResolvedRange& b) { return a.offset < b.offset; });
  ResolvedRange merged = ranges.front();
  for (const ResolvedRange& range : ranges) {
    uint64_t end = merged.offset + merged.length;
    if (range.offset > end) return std::nullopt;
    merged.length = std::max(end, range.offset + range.length) - merged.offset;
  }
  return merged;
}

}  // namespace

absl::StatusOr<std::optional<ResolvedRange>> ResolveRange(std::optional<std::string_view> header,
                                                          uint64_t size) {
  if (!header) return std::nullopt;
  std::string_view spec = StripWhitespace(*header);
  size_t equals = std::min(spec.find('='), spec.size());
  if (!internal::EqualsIgnoreCase(StripWhitespace(spec.substr(0, equals)), "bytes")) {
    return std::nullopt;  // another unit: ignored (RFC 9110 §14.2)
  }
  if (equals == spec.size()) return Malformed(spec);
  absl::StatusOr<std::vector<ResolvedRange>> ranges = ResolveSet(spec.substr(equals + 1), size);
  if (!ranges.ok()) return ranges.status();
  return Coalesce(std::move(*ranges));
}

std::string ContentRangeValue(const ResolvedRange& range, uint64_t size) {
  return absl::StrCat("bytes ", range.offset, "-", range.offset + range.length - 1, "/", size);
}

}  // namespace dvs::http
