#include "storage/scrubber.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/posix_file.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace dvs::storage {
namespace {

// Keys fetched from the index at a time: the pass holds no full listing.
constexpr size_t kScrubPage = 256;
// Longest time between two checkpoints of a pass in progress.
constexpr std::chrono::seconds kCheckpointEvery(10);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<ScrubCheckpoint> LoadScrubCheckpoint(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error) && !error) return ScrubCheckpoint{};
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) return absl::UnavailableError(absl::StrCat("cannot open ", path.string()));
  std::stringstream text;
  text << file.rdbuf();
  auto damaged = [&path] {
    return absl::DataLossError(absl::StrCat(path.string(), " is not a scrub checkpoint"));
  };
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return damaged();
  try {
    return ScrubCheckpoint{
        .pass_started_ms = json.value("pass_started_ms", int64_t{0}),
        .after = json.value("after", std::string()),
        .last_pass_started_ms = json.value("last_pass_started_ms", int64_t{0}),
        .damaged = json.value("damaged", std::vector<std::string>()),
    };
  } catch (const nlohmann::json::exception&) {
    return damaged();  // a field of the wrong type
  }
}

absl::Status SaveScrubCheckpoint(const std::filesystem::path& path,
                                 const ScrubCheckpoint& checkpoint) {
  nlohmann::json json = {
      {"pass_started_ms", checkpoint.pass_started_ms},
      {"after", checkpoint.after},
      {"last_pass_started_ms", checkpoint.last_pass_started_ms},
      {"damaged", checkpoint.damaged},
  };
  return common::WriteFileAtomically(path, json.dump() + "\n");
}

ByteRateLimiter::Clock::duration ByteRateLimiter::Take(uint64_t bytes, Clock::time_point now) {
  Clock::time_point start = std::max(next_free_, now);
  next_free_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                           static_cast<double>(bytes) / bytes_per_s_));
  return start - now;
}

Scrubber::Scrubber(BlobStore& store, ScrubOptions options)
    : store_(store),
      options_(options),
      limiter_(options.bytes_per_s > 0 ? options.bytes_per_s : 1) {
  if (options_.bytes_per_s > 0) thread_ = std::thread([this] { Run(); });
}

Scrubber::~Scrubber() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ScrubStats Scrubber::stats() const {
  return ScrubStats{
      .passes_completed = passes_completed_.load(),
      .blobs_verified = blobs_verified_.load(),
      .bytes_verified = bytes_verified_.load(),
      .corrupt_found = corrupt_found_.load(),
      .read_errors = read_errors_.load(),
  };
}

bool Scrubber::Sleep(ByteRateLimiter::Clock::duration delay) {
  std::unique_lock lock(mutex_);
  if (delay > ByteRateLimiter::Clock::duration::zero()) {
    stop_changed_.wait_for(lock, delay, [this] { return stopping_; });
  }
  return !stopping_;
}

void Scrubber::Run() {
  checkpoint_ = Restore();
  if (!RecheckDamaged(checkpoint_.damaged)) return;
  if (checkpoint_.pass_started_ms == 0 && checkpoint_.last_pass_started_ms != 0 &&
      !WaitForNextPass(checkpoint_.last_pass_started_ms)) {
    return;
  }
  while (true) {
    if (checkpoint_.pass_started_ms == 0) {
      checkpoint_.pass_started_ms = NowMs();
      checkpoint_.after.clear();
    } else {
      spdlog::info("scrub: resuming the pass of {} after {}", checkpoint_.pass_started_ms,
                   checkpoint_.after.empty() ? "(the start)" : checkpoint_.after);
    }
    if (!RunPass()) break;
    uint64_t passes = ++passes_completed_;
    checkpoint_.last_pass_started_ms = checkpoint_.pass_started_ms;
    checkpoint_.pass_started_ms = 0;
    checkpoint_.after.clear();
    Checkpoint();
    spdlog::info("scrub pass {} done: {} blobs checked in all, {} found damaged", passes,
                 blobs_verified_.load(), corrupt_found_.load());
    if (!WaitForNextPass(checkpoint_.last_pass_started_ms)) return;
  }
  Checkpoint();  // stopped in the middle of a pass: the next start resumes it
}

ScrubCheckpoint Scrubber::Restore() {
  if (options_.state_file.empty()) return {};
  absl::StatusOr<ScrubCheckpoint> restored = LoadScrubCheckpoint(options_.state_file);
  if (!restored.ok()) {
    spdlog::warn("scrub: starting a new pass: {}", restored.status().ToString());
    return {};
  }
  return *std::move(restored);
}

bool Scrubber::RecheckDamaged(const std::vector<std::string>& keys) {
  if (!keys.empty())
    spdlog::info("scrub: checking again {} blobs found damaged before", keys.size());
  for (const std::string& key : keys) {
    if (!VerifyBlob(key)) return false;
  }
  return true;
}

bool Scrubber::WaitForNextPass(int64_t started_ms) {
  // At most `every`, whatever the wall clock did meanwhile.
  int64_t wait_ms =
      std::clamp<int64_t>(started_ms + options_.every.count() - NowMs(), 0, options_.every.count());
  return Sleep(std::chrono::milliseconds(wait_ms));
}

bool Scrubber::RunPass() {
  while (true) {
    absl::StatusOr<std::vector<BlobInfo>> page = store_.ListPage("", checkpoint_.after, kScrubPage);
    if (!page.ok()) {
      spdlog::warn("scrub: cannot list the blobs: {}", page.status().ToString());
      ++read_errors_;
      return Sleep(std::chrono::seconds(1));  // the pass ends; the next one tries again
    }
    if (page->empty()) return true;
    for (const BlobInfo& blob : *page) {
      if (!VerifyBlob(blob.key)) return false;
      checkpoint_.after = blob.key;
    }
    if (ByteRateLimiter::Clock::now() - last_checkpoint_ >= kCheckpointEvery) Checkpoint();
  }
}

void Scrubber::Checkpoint() {
  last_checkpoint_ = ByteRateLimiter::Clock::now();
  if (options_.state_file.empty()) return;
  checkpoint_.damaged = store_.CorruptKeys(kMaxCorruptKeysReported).first;
  if (absl::Status saved = SaveScrubCheckpoint(options_.state_file, checkpoint_); !saved.ok()) {
    spdlog::warn("scrub: cannot save the checkpoint: {}", saved.ToString());
  }
}

bool Scrubber::VerifyBlob(const std::string& key) {
  absl::StatusOr<std::unique_ptr<BlobReader>> reader = store_.Read(key);
  if (absl::IsNotFound(reader.status())) return true;  // deleted meanwhile
  absl::Status status = reader.status();
  uint64_t left = status.ok() ? (*reader)->size() : 0;
  while (status.ok()) {
    uint64_t next = std::min<uint64_t>(left, kBlockSize);
    if (!Sleep(limiter_.Take(next, ByteRateLimiter::Clock::now()))) return false;
    absl::StatusOr<std::string_view> piece = (*reader)->Next();
    status = piece.status();
    if (!piece.ok() || piece->empty()) break;
    left -= piece->size();
    bytes_verified_ += piece->size();
  }
  if (status.code() == absl::StatusCode::kDataLoss && !store_.MarkCorrupt(**reader)) {
    spdlog::info("scrub: blob {} was stored again or deleted while it was read", key);
  } else if (status.code() == absl::StatusCode::kDataLoss) {
    ++corrupt_found_;
    spdlog::error("scrub: blob {} is damaged; reported through Info for repair", key);
    Checkpoint();
  } else if (!status.ok()) {
    ++read_errors_;
    spdlog::warn("scrub: cannot read blob {}: {}", key, status.ToString());
  } else {
    ++blobs_verified_;
  }
  return true;
}

}  // namespace dvs::storage
