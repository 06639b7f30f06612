// The Range request header (RFC 9110 §14): one byte range of a file of known
// size. Pure functions.
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

// nullopt when the whole file should be sent (no header, a header that is not
// one well-formed "bytes=" range, or several ranges); OutOfRange when the
// range is not satisfiable for `size` (answer 416).
[[nodiscard]] absl::StatusOr<std::optional<ResolvedRange>> ResolveRange(
    std::optional<std::string_view> header, uint64_t size);

// "bytes 0-99/1000"
std::string ContentRangeValue(const ResolvedRange& range, uint64_t size);

}  // namespace dvs::http
