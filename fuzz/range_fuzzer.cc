// The Range header resolver. Input: the file size as 8 little-endian bytes,
// then the header value. A range it returns must lie inside the file, and
// asking again for exactly that range must give it back.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "check.h"
#include "http/range.h"

using dvs::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t file_size = 0;
  std::memcpy(&file_size, data, 8);
  std::string_view header(reinterpret_cast<const char*>(data) + 8, size - 8);
  absl::StatusOr<std::optional<dvs::http::ResolvedRange>> range =
      dvs::http::ResolveRange(header, file_size);
  if (!range.ok()) {
    Check(range.status().code() == absl::StatusCode::kOutOfRange);
    return 0;
  }
  if (!range->has_value()) return 0;
  const dvs::http::ResolvedRange& got = **range;
  Check(got.length > 0 && got.offset < file_size && got.length <= file_size - got.offset);
  std::string again = absl::StrCat("bytes=", got.offset, "-", got.offset + got.length - 1);
  absl::StatusOr<std::optional<dvs::http::ResolvedRange>> same =
      dvs::http::ResolveRange(again, file_size);
  Check(same.ok() && same->has_value() && **same == got);
  std::string content_range = dvs::http::ContentRangeValue(got, file_size);
  Check(content_range.starts_with("bytes ") &&
        content_range.ends_with(absl::StrCat("/", file_size)));
  return 0;
}
