#include "storage/scrubber.h"

#include <algorithm>
#include <vector>

#include "spdlog/spdlog.h"

namespace dvs::storage {
namespace {

// Keys fetched from the index at a time: the pass holds no full listing.
constexpr size_t kScrubPage = 256;

}  // namespace

ByteRateLimiter::Clock::duration ByteRateLimiter::Take(uint64_t bytes, Clock::time_point now) {
  Clock::time_point start = std::max(next_free_, now);
  next_free_ = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(bytes) / bytes_per_s_));
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
  using Clock = ByteRateLimiter::Clock;
  while (true) {
    Clock::time_point started = Clock::now();
    if (!RunPass()) return;
    uint64_t passes = ++passes_completed_;
    spdlog::info("scrub pass {} done: {} blobs checked in all, {} found damaged", passes,
                 blobs_verified_.load(), corrupt_found_.load());
    if (!Sleep(started + options_.every - Clock::now())) return;
  }
}

bool Scrubber::RunPass() {
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<BlobInfo>> page = store_.ListPage("", after, kScrubPage);
    if (!page.ok()) {
      spdlog::warn("scrub: cannot list the blobs: {}", page.status().ToString());
      ++read_errors_;
      return Sleep(std::chrono::seconds(1));  // the pass ends; the next one tries again
    }
    if (page->empty()) return true;
    for (const BlobInfo& blob : *page) {
      if (!VerifyBlob(blob.key)) return false;
    }
    after = page->back().key;
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
  if (status.code() == absl::StatusCode::kDataLoss) {
    ++corrupt_found_;
    store_.MarkCorrupt(key);
    spdlog::error("scrub: blob {} is damaged; reported through Info for repair", key);
  } else if (!status.ok()) {
    ++read_errors_;
    spdlog::warn("scrub: cannot read blob {}: {}", key, status.ToString());
  } else {
    ++blobs_verified_;
  }
  return true;
}

}  // namespace dvs::storage
