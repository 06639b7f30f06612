// The Range request header (RFC 9110 §14): the byte range of a file of known
// size to send. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::http {

struct ResolvedRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const ResolvedRange&) const = default;
};

// nullopt when the whole file should be sent (no header, another unit than
// bytes, or several ranges that do not merge into one span); OutOfRange, with
// the reason, when a "bytes=" header is malformed, lists more than 100
// ranges, or none of its ranges is satisfiable for `size` (answer 416).
// Ranges that overlap or touch are merged into one.
[[nodiscard]] absl::StatusOr<std::optional<ResolvedRange>> ResolveRange(
    std::optional<std::string_view> header, uint64_t size);

// "bytes 0-99/1000"
std::string ContentRangeValue(const ResolvedRange& range, uint64_t size);

}  // namespace dvs::http
