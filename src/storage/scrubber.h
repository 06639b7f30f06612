// Scrubber: re-reads every blob of a BlobStore in the background and checks
// each block against its stored SHA-256 (DESIGN §6), so that rot is found
// before a viewer asks for the bytes. A damaged blob is logged, counted and
// marked in the store (BlobStore::MarkCorrupt), where Info reports it and the
// web servers find it and re-copy it from a good replica.
//
// Reads are paced by a ByteRateLimiter (--scrub-mb-per-s) so that scrubbing
// stays a trickle beside real traffic, and a full pass starts every
// `every` (--scrub-every), counted from the start of the previous one; a pass
// that takes longer is followed by the next at once.
//
// With a state file, a restart loses nothing: the pass in progress (its start
// and the last key checked), the start of the last finished pass and the
// damaged keys are checkpointed there (every few seconds, on a find, at the
// end of a pass and at stop). The next start checks the damaged keys again
// first (so they are reported again at once), then resumes the pass after
// its last key, or waits for the next pass's time. A pass of a large store
// at 20 MB/s takes days; without this, restarts would keep it from ending.
//
// Thread safety: ByteRateLimiter is not thread-safe (one per scrubber).
// Scrubber runs its own thread; stats() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "storage/blob_store.h"

namespace dvs::storage {

// Paces reads to a byte rate: each Take says how long to wait before the
// bytes may be read so that, over any stretch, no more than the rate goes by
// (after a pause, no burst is owed: idle time is not saved up). Time is
// passed in, so the rule is pure and testable.
class ByteRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `bytes_per_s` > 0.
  explicit ByteRateLimiter(double bytes_per_s) : bytes_per_s_(bytes_per_s) {}

  // How long to wait from `now` before reading `bytes` more.
  Clock::duration Take(uint64_t bytes, Clock::time_point now);

 private:
  double bytes_per_s_;
  Clock::time_point next_free_{};  // when the bytes taken so far are paid for
};

struct ScrubOptions {
  double bytes_per_s = 20e6;  // 0: no scrubbing
  std::chrono::milliseconds every{std::chrono::hours(24 * 7)};
  std::filesystem::path state_file;  // empty: nothing is kept across restarts
};

// What a restart needs to go on where the scrubber stopped. Times are Unix
// milliseconds (wall clock: they outlive the process).
struct ScrubCheckpoint {
  int64_t pass_started_ms = 0;       // 0: no pass in progress
  std::string after;                 // the pass in progress checked every key up to this one
  int64_t last_pass_started_ms = 0;  // the last finished pass's start; 0: none yet
  std::vector<std::string> damaged;  // keys marked corrupt (at most kMaxCorruptKeysReported)
};

// A missing file is an empty checkpoint; a damaged one is an error.
[[nodiscard]] absl::StatusOr<ScrubCheckpoint> LoadScrubCheckpoint(
    const std::filesystem::path& path);
// Replaces the file whole (written to a temp file, synced, renamed).
[[nodiscard]] absl::Status SaveScrubCheckpoint(const std::filesystem::path& path,
                                               const ScrubCheckpoint& checkpoint);

// Counters since the start, for Info, logs and metrics.
struct ScrubStats {
  uint64_t passes_completed = 0;
  uint64_t blobs_verified = 0;
  uint64_t bytes_verified = 0;
  uint64_t corrupt_found = 0;  // damaged blobs found (a blob once per pass)
  uint64_t read_errors = 0;    // blobs that could not be read for other reasons
};

class Scrubber {
 public:
  // Starts the background thread unless options.bytes_per_s is 0. `store`
  // must outlive the scrubber.
  Scrubber(BlobStore& store, ScrubOptions options);
  // Stops the thread (within one block's read).
  ~Scrubber();
  Scrubber(const Scrubber&) = delete;
  Scrubber& operator=(const Scrubber&) = delete;

  ScrubStats stats() const;

 private:
  void Run();
  // Reads the state file (a bad one is logged and ignored).
  ScrubCheckpoint Restore();
  // Checks again the keys found damaged before a restart; false when stopped.
  bool RecheckDamaged(const std::vector<std::string>& keys);
  // Waits until the next pass is due after one started at `started_ms`;
  // false when stopped.
  bool WaitForNextPass(int64_t started_ms);
  // The pass in checkpoint_ from its key `after` to the end; false when
  // stopped in the middle.
  bool RunPass();
  // Reads `key` through, paced; false when stopped in the middle.
  bool VerifyBlob(const std::string& key);
  // Waits `delay` unless stopped first; false when stopped.
  bool Sleep(ByteRateLimiter::Clock::duration delay);
  // Writes checkpoint_ (with the store's damaged keys) to the state file.
  void Checkpoint();

  BlobStore& store_;
  const ScrubOptions options_;
  ByteRateLimiter limiter_;                               // used by the thread only
  ScrubCheckpoint checkpoint_;                            // used by the thread only
  ByteRateLimiter::Clock::time_point last_checkpoint_{};  // used by the thread only

  std::atomic<uint64_t> passes_completed_{0};
  std::atomic<uint64_t> blobs_verified_{0};
  std::atomic<uint64_t> bytes_verified_{0};
  std::atomic<uint64_t> corrupt_found_{0};
  std::atomic<uint64_t> read_errors_{0};

  std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;     // last: starts after everything it uses
};

}  // namespace dvs::storage
