// Video ids and file names: the one validator every edge (HTTP, gRPC, CLI)
// calls before a name can reach a path on disk or a storage key.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::common {

inline constexpr size_t kMaxNameLength = 128;

// OK when `name` matches [A-Za-z0-9][A-Za-z0-9._-]{0,127} and has no "..";
// otherwise InvalidArgument saying what is wrong. `what` names the thing in the
// message ("video id", "file name").
[[nodiscard]] absl::Status ValidateName(std::string_view name, std::string_view what = "name");

// The id for an uploaded file: its base name without the extension, every run
// of other characters made one '-', trimmed to start with a letter or digit
// and cut to kMaxNameLength ("My Trip 2024.mp4" -> "My-Trip-2024").
// InvalidArgument when nothing usable is left.
[[nodiscard]] absl::StatusOr<std::string> SlugFromFilename(std::string_view filename);

}  // namespace dvs::common
