// CachedContentService over a real local-folder backend: hits after the first
// read, never stale when the file is replaced, bounded by its byte budget.
#include "content/cache/cached_content_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/sha256.h"
#include "content/fs/fs_content_service.h"
#include "gtest/gtest.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(VideoContentService& content, std::string_view file, std::string_view sha256,
                    std::optional<ByteRange> range = std::nullopt) {
  auto reader = content.Read("v", file, range, sha256);
  if (!reader.ok()) return "<" + reader.status().ToString() + ">";
  std::string out((*reader)->size(), '\0');
  size_t filled = 0;
  while (filled < out.size()) {
    auto got = (*reader)->Read(out.data() + filled, out.size() - filled);
    if (!got.ok() || *got == 0) break;
    filled += *got;
  }
  out.resize(filled);
  return out;
}

class CachedContentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cache-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto backend = FsContentService::Open(dir_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::unique_ptr<VideoContentService> backend_;
};

TEST_F(CachedContentServiceTest, ServesFromMemoryAfterTheFirstRead) {
  CachedContentService cache(*backend_, {});
  const std::string bytes = "<MPD>manifest</MPD>";
  ASSERT_TRUE(cache.Write("v", "manifest.mpd", bytes).ok());
  const std::string sha = common::Sha256Hex(bytes);
  EXPECT_EQ(ReadAll(cache, "manifest.mpd", sha), bytes);
  EXPECT_EQ(cache.stats().entries, 1u);
  fs::remove_all(dir_ / "v");  // gone from the backend: only memory can answer now
  EXPECT_EQ(ReadAll(cache, "manifest.mpd", sha), bytes);
  EXPECT_EQ(ReadAll(cache, "manifest.mpd", sha, ByteRange{5, 8}), "manifest");
  EXPECT_EQ(cache.Stat("v", "manifest.mpd", sha)->size, bytes.size());
  EXPECT_GE(cache.stats().hits, 3u);
  EXPECT_TRUE(absl::IsOutOfRange(cache.Read("v", "manifest.mpd", ByteRange{30, 1}, sha).status()));
}

TEST_F(CachedContentServiceTest, AReplacedFileIsNeverServedStale) {
  CachedContentService cache(*backend_, {});
  ASSERT_TRUE(cache.Write("v", "manifest.mpd", "first").ok());
  EXPECT_EQ(ReadAll(cache, "manifest.mpd", common::Sha256Hex("first")), "first");
  ASSERT_TRUE(cache.Write("v", "manifest.mpd", "second version").ok());
  EXPECT_EQ(ReadAll(cache, "manifest.mpd", common::Sha256Hex("second version")), "second version");
  // A caller that still expects the old content gets what is there, and the
  // mismatch is not cached under the old hash.
  ASSERT_TRUE(cache.Write("v", "other.mpd", "new").ok());
  EXPECT_EQ(ReadAll(cache, "other.mpd", common::Sha256Hex("old")), "new");
  ASSERT_TRUE(cache.Write("v", "other.mpd", "newer").ok());
  EXPECT_EQ(ReadAll(cache, "other.mpd", common::Sha256Hex("old")), "newer");
}

TEST_F(CachedContentServiceTest, KeepsWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  CachedContentService cache(*backend_, {.max_bytes = 250, .max_entry_bytes = 100});
  std::vector<std::string> shas;
  for (int i = 0; i < 4; ++i) {
    std::string bytes(100, static_cast<char>('a' + i));
    ASSERT_TRUE(cache.Write("v", "f" + std::to_string(i), bytes).ok());
    shas.push_back(common::Sha256Hex(bytes));
    EXPECT_EQ(ReadAll(cache, "f" + std::to_string(i), shas.back()), bytes);
    if (i == 1) ReadAll(cache, "f0", shas[0]);  // f0 becomes the most recent
  }
  EXPECT_LE(cache.stats().bytes, 250u);
  EXPECT_EQ(cache.stats().entries, 2u);
  std::string big(101, 'z');
  ASSERT_TRUE(cache.Write("v", "big", big).ok());
  EXPECT_EQ(ReadAll(cache, "big", common::Sha256Hex(big)), big);  // served, not kept
  EXPECT_EQ(cache.stats().entries, 2u);
  ASSERT_TRUE(cache.Delete("v").ok());
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST_F(CachedContentServiceTest, DeletingAGenerationDropsOnlyItsOwnEntries) {
  CachedContentService cache(*backend_, {});
  const std::string one = "generation one", two = "generation two";
  ASSERT_TRUE(cache.Write("v/g1", "manifest.mpd", one).ok());
  ASSERT_TRUE(cache.Write("v/g2", "manifest.mpd", two).ok());
  ASSERT_TRUE(cache.Read("v/g1", "manifest.mpd", std::nullopt, common::Sha256Hex(one)).ok());
  ASSERT_TRUE(cache.Read("v/g2", "manifest.mpd", std::nullopt, common::Sha256Hex(two)).ok());
  EXPECT_EQ(cache.stats().entries, 2u);
  ASSERT_TRUE(cache.Delete("v/g1").ok());
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, two.size());
  EXPECT_TRUE(absl::IsNotFound(cache.Stat("v/g1", "manifest.mpd").status()));
  fs::remove_all(dir_ / "v");  // only memory can answer for g2 now
  auto kept = cache.ReadWithoutWaiting("v/g2", "manifest.mpd", common::Sha256Hex(two));
  ASSERT_NE(kept, nullptr);
  ASSERT_TRUE(kept->InMemory().has_value());
  EXPECT_EQ(*kept->InMemory(), two);
}

TEST_F(CachedContentServiceTest, ReadWithoutWaitingGivesMemoryOrTheLocalFile) {
  CachedContentService cache(*backend_, {});
  const std::string bytes = "<MPD>at hand</MPD>";
  ASSERT_TRUE(cache.Write("v", "manifest.mpd", bytes).ok());
  const std::string sha = common::Sha256Hex(bytes);

  // Too large to keep: the local folder's reader, with its file open.
  CachedContentService small_cache(*backend_, {.max_entry_bytes = 4});
  std::unique_ptr<ContentReader> local = small_cache.ReadWithoutWaiting("v", "manifest.mpd", sha);
  ASSERT_NE(local, nullptr);
  EXPECT_FALSE(local->InMemory().has_value());
  ASSERT_TRUE(local->InFile().has_value());
  std::string from_file(bytes.size(), '\0');
  EXPECT_EQ(pread(local->InFile()->fd, from_file.data(), from_file.size(),
                  static_cast<off_t>(local->InFile()->offset)),
            static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(from_file, bytes);
  EXPECT_EQ(local->InFile()->length, bytes.size());

  // Small enough: read into memory at once, and kept.
  std::unique_ptr<ContentReader> memory = cache.ReadWithoutWaiting("v", "manifest.mpd", sha);
  ASSERT_NE(memory, nullptr);
  ASSERT_TRUE(memory->InMemory().has_value());
  EXPECT_EQ(*memory->InMemory(), bytes);
  EXPECT_EQ(cache.stats().entries, 1u);
  // A local file with other content than the caller expects is not kept.
  EXPECT_FALSE(
      cache.ReadWithoutWaiting("v", "manifest.mpd", std::string(64, 'e'))->InMemory().has_value());
  EXPECT_EQ(cache.stats().entries, 1u);

  EXPECT_EQ(cache.ReadWithoutWaiting("v", "missing.mpd", sha.substr(1) + "0"), nullptr);
}

}  // namespace
}  // namespace dvs::content
