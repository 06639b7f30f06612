// Video ids, video folders and file names: the one validator every edge
// (HTTP, gRPC, CLI) calls before a name can reach a path on disk or a storage
// key.
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

// OK when `folder` names a video folder: one name ("clip", the legacy form)
// or two joined by one slash ("clip/0123abcd0123abcd": a video id and a
// generation), each part passing ValidateName. InvalidArgument saying what is
// wrong otherwise; `what` names the thing in the message.
[[nodiscard]] absl::Status ValidateFolder(std::string_view folder,
                                          std::string_view what = "video folder");

inline constexpr size_t kMaxFileNameBytes = 1024;

// OK when an uploaded file's original name (kept as the video's title) is
// printable text: well-formed UTF-8, at most kMaxFileNameBytes, without
// control characters (C0, DEL, C1) or the bidirectional overrides and
// isolates (U+202A-U+202E, U+2066-U+2069) that make "clip\u202Egpj.exe"
// look like "clipexe.jpg". InvalidArgument saying what is wrong otherwise.
[[nodiscard]] absl::Status ValidateFileName(std::string_view name);

// The id for an uploaded file: its base name without the extension, every run
// of other characters made one '-', trimmed to start with a letter or digit
// and cut to kMaxNameLength ("My Trip 2024.mp4" -> "My-Trip-2024").
// InvalidArgument when nothing usable is left.
[[nodiscard]] absl::StatusOr<std::string> SlugFromFilename(std::string_view filename);

}  // namespace dvs::common
