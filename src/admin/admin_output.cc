#include "admin/admin_output.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <utility>
#include <vector>

namespace dvs::admin {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kPlainLineInterval = std::chrono::seconds(1);
constexpr std::string_view kClearToEndOfLine = "\x1b[K";

// "3/20" (and ", 1.5 GiB copied" once bytes have moved).
std::string Counts(const v1::ChangeProgress& progress) {
  std::string counts;
  if (progress.total() != 0) {
    counts = std::to_string(progress.done()) + "/" + std::to_string(progress.total());
  }
  if (progress.bytes_copied() != 0) {
    counts += (counts.empty() ? "" : ", ") + FormatBytes(progress.bytes_copied()) + " copied";
  }
  return counts;
}

std::string Bar(uint64_t done, uint64_t total) {
  int filled = total == 0 ? 0 : static_cast<int>(std::min(done, total) * kBarWidth / total);
  return "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]";
}

std::string TransitionText(const v1::Ring& ring) {
  if (!ring.has_transition()) return "no change in progress";
  const v1::RingTransition& transition = ring.transition();
  std::string verb = transition.kind() == "remove" ? "removing " : "adding ";
  std::time_t started = static_cast<std::time_t>(transition.started_at_ms() / 1000);
  std::array<char, 32> when{};
  std::strftime(when.data(), when.size(), "%Y-%m-%d %H:%M:%S", std::localtime(&started));
  return verb + transition.node() + " (since " + when.data() + ")";
}

}  // namespace

ProgressDisplay::ProgressDisplay(std::ostream& err, bool terminal, std::string title)
    : err_(err), terminal_(terminal), title_(std::move(title)) {}

void ProgressDisplay::Update(const v1::ChangeProgress& progress) {
  if (terminal_) {
    DrawBar(progress);
    return;
  }
  auto now = std::chrono::steady_clock::now();
  bool finished_phase = progress.total() != 0 && progress.done() == progress.total();
  if (progress.phase() != last_phase_ || finished_phase ||
      now - last_line_at_ >= kPlainLineInterval) {
    PrintLine(progress);
    last_phase_ = progress.phase();
    last_line_at_ = now;
  }
}

void ProgressDisplay::DrawBar(const v1::ChangeProgress& progress) {
  err_ << '\r' << title_ << ": " << progress.phase();
  if (progress.total() != 0) err_ << ' ' << Bar(progress.done(), progress.total());
  if (!Counts(progress).empty()) err_ << ' ' << Counts(progress);
  if (!progress.message().empty()) err_ << "  " << progress.message();
  err_ << kClearToEndOfLine << std::flush;
  bar_drawn_ = true;
}

void ProgressDisplay::PrintLine(const v1::ChangeProgress& progress) {
  err_ << title_ << ": " << progress.phase();
  if (!Counts(progress).empty()) err_ << ' ' << Counts(progress);
  if (!progress.message().empty()) err_ << " (" << progress.message() << ')';
  err_ << '\n' << std::flush;
}

void ProgressDisplay::Finish() {
  if (bar_drawn_) err_ << '\n' << std::flush;
  bar_drawn_ = false;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f %s", value, kUnits[unit]);
  return text.data();
}

void PrintStatus(const v1::StatusResponse& status, std::ostream& out) {
  const v1::Ring& ring = status.ring();
  out << "ring epoch " << ring.epoch() << ", " << ring.nodes_size() << " node"
      << (ring.nodes_size() == 1 ? "" : "s") << ", V=" << ring.vnodes() << ", R=" << ring.replicas()
      << ", " << TransitionText(ring) << "\n\n";
  size_t width = 4;  // "NODE"
  for (const v1::NodeHealth& node : status.nodes()) width = std::max(width, node.address().size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << "NODE" << std::setw(8) << "HEALTH"
      << std::right << std::setw(10) << "BLOBS" << std::setw(12) << "USED" << std::setw(12)
      << "FREE" << '\n';
  for (const v1::NodeHealth& node : status.nodes()) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << node.address();
    if (!node.healthy()) {
      out << "DOWN    " << node.error() << '\n';
      continue;
    }
    out << std::setw(8) << "ok" << std::right << std::setw(10) << node.blob_count() << std::setw(12)
        << FormatBytes(node.bytes_used()) << std::setw(12) << FormatBytes(node.bytes_free())
        << '\n';
  }
}

nlohmann::json StatusToJson(const v1::StatusResponse& status) {
  const v1::Ring& ring = status.ring();
  nlohmann::json transition = nullptr;
  if (ring.has_transition()) {
    const v1::RingTransition& t = ring.transition();
    transition = {{"kind", t.kind()},
                  {"node", t.node()},
                  {"target_nodes",
                   std::vector<std::string>(t.target_nodes().begin(), t.target_nodes().end())},
                  {"started_at_ms", t.started_at_ms()}};
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const v1::NodeHealth& node : status.nodes()) {
    nodes.push_back({{"address", node.address()},
                     {"healthy", node.healthy()},
                     {"error", node.error()},
                     {"node_id", node.node_id()},
                     {"bytes_used", node.bytes_used()},
                     {"bytes_free", node.bytes_free()},
                     {"blob_count", node.blob_count()}});
  }
  return {{"ring",
           {{"epoch", ring.epoch()},
            {"nodes", std::vector<std::string>(ring.nodes().begin(), ring.nodes().end())},
            {"vnodes", ring.vnodes()},
            {"replicas", ring.replicas()},
            {"transition", transition}}},
          {"nodes", nodes}};
}

nlohmann::json RepairToJson(const v1::RepairResult& result) {
  return {{"keys_checked", result.keys_checked()},
          {"copies_made", result.copies_made()},
          {"copies_deleted", result.copies_deleted()},
          {"lost_keys",
           std::vector<std::string>(result.lost_keys().begin(), result.lost_keys().end())}};
}

}  // namespace dvs::admin
