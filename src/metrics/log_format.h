// How dvs processes write their logs: spdlog's text lines (the default), or
// one JSON object per line (`--log-format json`) for log collectors. Set once
// at start-up, before other threads log.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::metrics {

enum class LogFormat { kText, kJson };

// "text" or "json"; InvalidArgument otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view name);

// Every logger, present and future: in kJson, each line is
// {"time":"2026-01-02T03:04:05.678Z","level":"info","message":"…"}
// with the message escaped (invalid UTF-8 replaced).
void ConfigureLogging(LogFormat format);
LogFormat CurrentLogFormat();

// `text` as a JSON string, quotes included.
std::string JsonString(std::string_view text);

}  // namespace dvs::metrics
