// How `dvs admin` shows results: the progress of a long operation, the status
// table, byte counts, and the JSON forms for --json. Formatting only: no I/O
// but the streams given, no gRPC (just the admin messages).
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "proto/dvs_admin.pb.h"

namespace dvs::admin {

// Shows a long operation's progress on `err`: a bar redrawn in place on a
// terminal; otherwise plain lines, one per phase and at most one a second
// within a phase, so that a log stays readable. Not thread-safe.
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& err, bool terminal, std::string title);
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  void Update(const v1::ChangeProgress& progress);
  // Ends the bar's line, so what follows starts on a fresh one. Idempotent.
  void Finish();

 private:
  void DrawBar(const v1::ChangeProgress& progress);
  void PrintLine(const v1::ChangeProgress& progress);

  std::ostream& err_;
  const bool terminal_;
  const std::string title_;
  bool bar_drawn_ = false;
  std::string last_phase_;
  std::chrono::steady_clock::time_point last_line_at_;
};

// "0 B", "512 B", "1.5 KiB", "20.0 GiB".
std::string FormatBytes(uint64_t bytes);

// The ring line and one row per node (node, health, blobs, used, free).
void PrintStatus(const v1::StatusResponse& status, std::ostream& out);

nlohmann::json StatusToJson(const v1::StatusResponse& status);
nlohmann::json RepairToJson(const v1::RepairResult& result);

}  // namespace dvs::admin
