#include "web/visibility.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/sqlite/sqlite_metadata_service.h"

namespace dvs::web {
namespace {

using metadata::Visibility;

access::Principal User(std::string name) {
  return access::Principal{.user = std::move(name), .scopes = access::ScopesOfUser(false)};
}

class ListShownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "visibility-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = metadata::SqliteMetadataService::Open(dir_ / "metadata.db");
    ASSERT_TRUE(opened.ok()) << opened.status();
    metadata_ = std::move(*opened);
  }
  void TearDown() override {
    metadata_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Videos v00, v01, … uploaded in that order (so listed newest first).
  void Add(std::string owner, Visibility visibility) {
    metadata::VideoMetadata meta;
    meta.id = absl::StrCat("v", count_ < 10 ? "0" : "", count_);
    meta.owner = std::move(owner);
    meta.visibility = visibility;
    meta.uploaded_at_ms = 1000 + count_++;
    ASSERT_TRUE(metadata_->Create(meta).ok());
  }

  // Every id `who` finds walking the list page by page.
  std::vector<std::string> Walk(const access::Principal& who, size_t limit) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      absl::StatusOr<metadata::VideoPage> page =
          ListShown(*metadata_, cursor, limit,
                    [&who](const metadata::VideoMetadata& meta) { return ListedFor(who, meta); });
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->videos.size(), limit);
      for (const metadata::VideoMetadata& meta : page->videos) ids.push_back(meta.id);
      if (page->next_cursor.empty()) break;
      cursor = page->next_cursor;
    }
    return ids;
  }

  std::filesystem::path dir_;
  std::unique_ptr<metadata::SqliteMetadataService> metadata_;
  int count_ = 0;
};

TEST_F(ListShownTest, EachViewerFindsWhatIsListedForThemOnceInOrder) {
  Add("alice", Visibility::kPublic);    // v00
  Add("alice", Visibility::kPrivate);   // v01
  Add("bob", Visibility::kUnlisted);    // v02
  Add("bob", Visibility::kPublic);      // v03
  Add("alice", Visibility::kUnlisted);  // v04
  Add("", Visibility::kPrivate);        // v05
  Add("bob", Visibility::kPrivate);     // v06
  for (size_t limit : {1u, 2u, 3u, 50u}) {
    EXPECT_EQ(Walk(access::Principal{}, limit), (std::vector<std::string>{"v03", "v00"}));
    EXPECT_EQ(Walk(User("alice"), limit), (std::vector<std::string>{"v04", "v03", "v01", "v00"}));
    EXPECT_EQ(Walk(User("bob"), limit), (std::vector<std::string>{"v06", "v03", "v02", "v00"}));
  }
}

TEST_F(ListShownTest, APageIsFilledFromFurtherBatches) {
  for (int i = 0; i < 5; ++i) Add("alice", Visibility::kPublic);
  for (int i = 0; i < 10; ++i) Add("bob", Visibility::kPrivate);
  absl::StatusOr<metadata::VideoPage> page = ListShown(
      *metadata_, "", 3,
      [](const metadata::VideoMetadata& meta) { return ListedFor(access::Principal{}, meta); });
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->videos.size(), 3u);
  EXPECT_EQ(page->videos[0].id, "v04");
  EXPECT_FALSE(page->next_cursor.empty());
}

TEST_F(ListShownTest, TooManyHiddenVideosGiveAShortPageWhoseCursorGoesOn) {
  Add("alice", Visibility::kPublic);  // v00, behind every private one
  for (int i = 0; i < 30; ++i) Add("bob", Visibility::kPrivate);
  auto anonymous = [](const metadata::VideoMetadata& meta) {
    return ListedFor(access::Principal{}, meta);
  };
  // 8 batches of 2 look at 16 of the 30 hidden videos.
  absl::StatusOr<metadata::VideoPage> page = ListShown(*metadata_, "", 2, anonymous);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->videos.empty());
  ASSERT_FALSE(page->next_cursor.empty());
  EXPECT_EQ(Walk(access::Principal{}, 2), (std::vector<std::string>{"v00"}));
}

TEST_F(ListShownTest, TheLastVideoOfTheListEndsTheWalk) {
  Add("alice", Visibility::kPublic);
  Add("alice", Visibility::kPublic);
  absl::StatusOr<metadata::VideoPage> page =
      ListShown(*metadata_, "", 2, [](const metadata::VideoMetadata&) { return true; });
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->videos.size(), 2u);
  EXPECT_TRUE(page->next_cursor.empty());
}

TEST(VisibilityTest, NamesParseAndOthersAreRefused) {
  EXPECT_EQ(*ParseVisibility("private"), Visibility::kPrivate);
  EXPECT_EQ(*ParseVisibility("unlisted"), Visibility::kUnlisted);
  EXPECT_EQ(*ParseVisibility("public"), Visibility::kPublic);
  for (const char* bad : {"", "Private", "secret", "public "}) {
    EXPECT_EQ(ParseVisibility(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(VisibilityTest, APrivateVideoIsSeenByItsOwnerAndAdministratorsOnly) {
  metadata::VideoMetadata meta;
  meta.owner = "alice";
  meta.visibility = Visibility::kPrivate;
  EXPECT_TRUE(MaySee(User("alice"), meta));
  EXPECT_FALSE(MaySee(User("bob"), meta));
  EXPECT_FALSE(MaySee(access::Principal{}, meta));
  access::Principal admin = User("root");
  admin.admin = true;
  admin.scopes = access::ScopesOfUser(true);
  EXPECT_TRUE(MaySee(admin, meta));
  meta.visibility = Visibility::kUnlisted;
  EXPECT_TRUE(MaySee(access::Principal{}, meta));
  EXPECT_FALSE(ListedFor(access::Principal{}, meta));
  EXPECT_TRUE(ListedFor(User("alice"), meta));
}

}  // namespace
}  // namespace dvs::web
