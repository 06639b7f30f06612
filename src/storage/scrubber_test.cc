#include "storage/scrubber.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/posix_file.h"
#include "common/sha256.h"
#include "storage/storage_test_support.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;
using Clock = ByteRateLimiter::Clock;
using std::chrono::milliseconds;

TEST(ByteRateLimiterTest, FirstTakeNeedsNoWait) {
  ByteRateLimiter limiter(1e6);
  EXPECT_EQ(limiter.Take(500'000, Clock::time_point() + std::chrono::hours(1)),
            Clock::duration::zero());
}

TEST(ByteRateLimiterTest, BackToBackTakesArePacedToTheRate) {
  ByteRateLimiter limiter(1e6);  // 1 MB/s
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  // Ten 1 MB reads taken at one instant: the k-th may start after k seconds.
  for (int k = 0; k < 10; ++k) {
    Clock::duration wait = limiter.Take(1'000'000, now);
    EXPECT_NEAR(std::chrono::duration<double>(wait).count(), k, 1e-6) << k;
  }
}

TEST(ByteRateLimiterTest, AReaderThatWaitsAsToldKeepsTheRate) {
  ByteRateLimiter limiter(20e6);  // the default 20 MB/s
  Clock::time_point start = Clock::time_point() + std::chrono::hours(1);
  Clock::time_point now = start;
  const uint64_t block = 1 << 20;
  for (int i = 0; i < 200; ++i) now += limiter.Take(block, now);
  // 200 MiB at 20 MB/s: the 200th block starts after 199 blocks' worth.
  double seconds = std::chrono::duration<double>(now - start).count();
  EXPECT_NEAR(seconds, 199.0 * block / 20e6, 1e-3);
}

TEST(ByteRateLimiterTest, IdleTimeIsNotSavedUpForABurst) {
  ByteRateLimiter limiter(1e6);
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(limiter.Take(1'000'000, now), Clock::duration::zero());
  now += std::chrono::seconds(100);  // a long pause
  EXPECT_EQ(limiter.Take(1'000'000, now), Clock::duration::zero());
  // The next one waits a whole second again: the pause bought no credit.
  EXPECT_NEAR(std::chrono::duration<double>(limiter.Take(1'000'000, now)).count(), 1.0, 1e-6);
}

class ScrubberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("scrubber_test");
    auto store = BlobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Put(std::string_view key, std::string_view bytes) {
    ASSERT_TRUE(store_->Put(key, bytes, common::Sha256Hex(bytes)).ok());
  }
  // Flips one byte of the blob's file on disk, behind the store's back.
  void Rot(std::string_view folder, std::string_view name, size_t offset) {
    fs::path path = dir_ / "blobs" / folder / name;
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open()) << path;
    file.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(static_cast<char>(c ^ 0x20));
  }
  // Waits (generously: the machine may be loaded) until `done` holds.
  template <typename F>
  bool WaitFor(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

  fs::path dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(ScrubberTest, FindsARottedBlobAndReportsItUntilItIsStoredAgain) {
  std::string good(3 * kBlockSize + 17, 'a');
  Put("clip/0123456789abcdef/chunk-1.m4s", good);
  Put("clip/0123456789abcdef/chunk-2.m4s", "fine");
  Rot("clip/0123456789abcdef", "chunk-1.m4s", 2 * kBlockSize + 5);

  Scrubber scrubber(*store_, ScrubOptions{.bytes_per_s = 1e9, .every = milliseconds(50)});
  ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
  auto [keys, count] = store_->CorruptKeys(10);
  EXPECT_EQ(count, 1u);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0], "clip/0123456789abcdef/chunk-1.m4s");
  EXPECT_GE(scrubber.stats().corrupt_found, 1u);
  EXPECT_GE(scrubber.stats().blobs_verified, 1u);  // chunk-2 passed

  // A repair puts the good bytes again: the mark goes, and later passes
  // find nothing more.
  Put("clip/0123456789abcdef/chunk-1.m4s", good);
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
  uint64_t passes = scrubber.stats().passes_completed;
  ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= passes + 2; }));
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
}

TEST_F(ScrubberTest, ADeletedCorruptBlobIsNoLongerReported) {
  Put("clip/a.txt", "some bytes");
  Rot("clip", "a.txt", 3);
  Scrubber scrubber(*store_, ScrubOptions{.bytes_per_s = 1e9, .every = milliseconds(50)});
  ASSERT_TRUE(WaitFor([&] { return store_->CorruptKeys(10).second == 1; }));
  ASSERT_TRUE(store_->Delete("clip/a.txt").ok());
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
}

TEST_F(ScrubberTest, ReadsAtTheSetRate) {
  Put("clip/big.bin", std::string(2 * kBlockSize, 'x'));
  // 2 MiB at 4 MB/s: the second block may not be read before ~0.26 s.
  auto start = std::chrono::steady_clock::now();
  Scrubber scrubber(*store_, ScrubOptions{.bytes_per_s = 4e6, .every = std::chrono::hours(1)});
  ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(seconds, 0.25);
  EXPECT_EQ(scrubber.stats().bytes_verified, 2 * kBlockSize);
}

TEST_F(ScrubberTest, ARateOfZeroScrubsNothing) {
  Put("clip/a.txt", "some bytes");
  Rot("clip", "a.txt", 3);
  {
    Scrubber scrubber(*store_, ScrubOptions{.bytes_per_s = 0, .every = milliseconds(1)});
    std::this_thread::sleep_for(milliseconds(100));
    EXPECT_EQ(scrubber.stats().passes_completed, 0u);
  }
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
}

// The state file beside the store, as dvs storage keeps it.
class ScrubberRestartTest : public ScrubberTest {
 protected:
  ScrubOptions Options(double bytes_per_s, std::chrono::milliseconds every) {
    return ScrubOptions{
        .bytes_per_s = bytes_per_s, .every = every, .state_file = dir_ / "scrub-state.json"};
  }
  // A restart of the storage server: a new store on the same folder.
  void Reopen() {
    store_.reset();
    auto store = BlobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
};

TEST_F(ScrubberRestartTest, ARestartResumesThePassAfterTheLastBlobChecked) {
  const int blobs = 12;
  for (int i = 0; i < blobs; ++i) {
    Put("clip/chunk-" + std::to_string(10 + i) + ".m4s", std::string(kBlockSize, 'a' + i));
  }
  uint64_t checked_before = 0;
  {
    // ~0.13 s a blob: stopped after a few, well before the end.
    Scrubber scrubber(*store_, Options(8e6, std::chrono::hours(1)));
    ASSERT_TRUE(WaitFor([&] { return scrubber.stats().blobs_verified >= 4; }));
    checked_before = scrubber.stats().blobs_verified;
  }
  ASSERT_LT(checked_before, blobs);
  Reopen();
  Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
  ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
  // The pass went on from where it stopped: the blobs checked before the
  // restart were not read again.
  EXPECT_EQ(scrubber.stats().blobs_verified, blobs - checked_before);
}

TEST_F(ScrubberRestartTest, DamageFoundBeforeARestartIsReportedAgainAtOnce) {
  Put("clip/a.txt", "some bytes");
  Put("clip/b.txt", "other bytes");
  Rot("clip", "a.txt", 3);
  {
    Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
    ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
    ASSERT_EQ(store_->CorruptKeys(10).second, 1u);
  }
  Reopen();
  ASSERT_EQ(store_->CorruptKeys(10).second, 0u);  // the mark lives in memory
  // The pass is done and the next is an hour away, yet the damaged blob is
  // reported again, and only it was read.
  Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
  ASSERT_TRUE(WaitFor([&] { return store_->CorruptKeys(10).second == 1; }));
  EXPECT_EQ(store_->CorruptKeys(10).first, std::vector<std::string>{"clip/a.txt"});
  EXPECT_EQ(scrubber.stats().passes_completed, 0u);
  EXPECT_EQ(scrubber.stats().blobs_verified, 0u);
}

TEST_F(ScrubberRestartTest, AFinishedPassIsNotRedoneBeforeItsTime) {
  Put("clip/a.txt", "some bytes");
  {
    Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
    ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
  }
  auto checkpoint = LoadScrubCheckpoint(dir_ / "scrub-state.json");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->pass_started_ms, 0);
  EXPECT_GT(checkpoint->last_pass_started_ms, 0);
  Reopen();
  Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(scrubber.stats().blobs_verified, 0u);
}

TEST_F(ScrubberRestartTest, ADamagedStateFileStartsANewPass) {
  Put("clip/a.txt", "some bytes");
  ASSERT_TRUE(common::WriteFileAtomically(dir_ / "scrub-state.json", "{\"after\": 7}").ok());
  EXPECT_FALSE(LoadScrubCheckpoint(dir_ / "scrub-state.json").ok());
  ASSERT_TRUE(common::WriteFileAtomically(dir_ / "scrub-state.json", "not json").ok());
  EXPECT_FALSE(LoadScrubCheckpoint(dir_ / "scrub-state.json").ok());
  Scrubber scrubber(*store_, Options(1e9, std::chrono::hours(1)));
  ASSERT_TRUE(WaitFor([&] { return scrubber.stats().passes_completed >= 1; }));
  EXPECT_EQ(scrubber.stats().blobs_verified, 1u);
}

}  // namespace
}  // namespace dvs::storage
