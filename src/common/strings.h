// Debian 12's Abseil is built with its own absl::string_view, a different type
// from std::string_view. These bridge the two: dvs's interfaces take
// std::string_view; absl::Status::message() and absl::StrCat use Abseil's.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace dvs::common {

inline absl::string_view AsAbsl(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view AsStd(absl::string_view text) { return {text.data(), text.size()}; }

}  // namespace dvs::common

// Lets spdlog/fmt print absl::string_view (e.g. status.message()).
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view text, FormatContext& context) const {
    return fmt::formatter<std::string_view>::format(dvs::common::AsStd(text), context);
  }
};
