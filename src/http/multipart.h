// A streaming multipart/form-data parser: bytes go in as they arrive, in
// chunks of any size, and parts come out through callbacks, so an upload is
// never held in memory. Not thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::http {

struct PartHeaders {
  std::string name;                     // Content-Disposition name
  std::optional<std::string> filename;  // Content-Disposition filename, when present
  std::string content_type;
};

// The boundary from a Content-Type header value; InvalidArgument when it is not
// multipart/form-data or has no usable boundary.
[[nodiscard]] absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type);

class MultipartParser {
 public:
  struct Callbacks {
    std::function<absl::Status(const PartHeaders&)> on_part_begin;
    std::function<absl::Status(std::string_view data)> on_part_data;
    std::function<absl::Status()> on_part_end;
  };

  MultipartParser(std::string boundary, Callbacks callbacks);

  // InvalidArgument on malformed input; a callback's error is passed through.
  // After an error the parser takes no more input.
  [[nodiscard]] absl::Status Feed(std::string_view chunk);
  // InvalidArgument unless the closing boundary has been seen.
  [[nodiscard]] absl::Status Finish();

 private:
  // kDelimiter: the buffer starts with a delimiter whose line is not yet read.
  enum class State { kPreamble, kDelimiter, kHeaders, kBody, kEpilogue, kFailed };
  absl::Status Step(bool* progressed);
  absl::Status SkipPreamble(bool* progressed);
  absl::Status AfterDelimiter(bool* progressed);
  absl::Status ReadHeaders(bool* progressed);
  absl::Status ReadBody(bool* progressed);
  absl::Status ParseHeaders(std::string_view block);
  size_t SafePrefixLength() const;

  const std::string delimiter_;  // "\r\n--" + boundary
  Callbacks callbacks_;
  State state_ = State::kPreamble;
  std::string buffer_;
  size_t header_bytes_ = 0;  // of the header block already searched for its end
};

}  // namespace dvs::http
