#include "metadata/etcd/etcd_record_cache.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dvs::metadata {
namespace {

std::string Json(const std::string& id, int64_t uploaded_at_ms, const std::string& title = "") {
  VideoMetadata meta;
  meta.id = id;
  meta.title = title.empty() ? id + ".mp4" : title;
  meta.uploaded_at_ms = uploaded_at_ms;
  return ToJson(meta);
}

std::vector<std::string> Ids(const VideoPage& page) {
  std::vector<std::string> ids;
  for (const VideoMetadata& meta : page.videos) ids.push_back(meta.id);
  return ids;
}

TEST(EtcdRecordCacheTest, PutsAreFoundWithTheirRevision) {
  EtcdRecordCache cache;
  EXPECT_TRUE(cache.ApplyRecord("clip", Json("clip", 5), 10));
  EtcdRecordCache::Record found = cache.Find("clip");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->revision, 10);
  EXPECT_EQ(found->uploaded_at_ms, 5);
  EXPECT_EQ(cache.Find("other"), nullptr);
}

TEST(EtcdRecordCacheTest, AnOlderPutArrivingLateIsIgnored) {
  EtcdRecordCache cache;
  ASSERT_TRUE(cache.ApplyRecord("clip", Json("clip", 5, "new.mp4"), 12));   // our own write
  EXPECT_FALSE(cache.ApplyRecord("clip", Json("clip", 5, "old.mp4"), 11));  // the watch, behind
  EXPECT_TRUE(cache.ApplyRecord("clip", Json("clip", 5, "new.mp4"), 12) == false);
  EXPECT_EQ(cache.Find("clip")->title, "new.mp4");
}

TEST(EtcdRecordCacheTest, ADeleteAheadOfTheWatchIsNotUndoneByAnOlderPut) {
  EtcdRecordCache cache;
  ASSERT_TRUE(cache.ApplyRecord("clip", Json("clip", 5), 10));
  cache.ApplyRecordDelete("clip", 14);                           // our own delete
  EXPECT_FALSE(cache.ApplyRecord("clip", Json("clip", 5), 12));  // an older put, late
  EXPECT_EQ(cache.Find("clip"), nullptr);
  // A new video of that id, created after the delete, is taken.
  EXPECT_TRUE(cache.ApplyRecord("clip", Json("clip", 9), 20));
  EXPECT_EQ(cache.Find("clip")->uploaded_at_ms, 9);
}

TEST(EtcdRecordCacheTest, PagesAreNewestFirstThenByIdAndWalkWithoutGapsOrRepeats) {
  EtcdRecordCache cache;
  int64_t revision = 1;
  for (auto [id, at] : std::vector<std::pair<std::string, int>>{
           {"old", 100}, {"newest", 300}, {"b-mid", 200}, {"a-mid", 200}, {"c-mid", 200}}) {
    cache.ApplyRecord(id, Json(id, at), revision++);
  }
  VideoPage first = cache.Page(std::nullopt, 2);
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"newest", "a-mid"}));
  ASSERT_FALSE(first.next_cursor.empty());
  // A newer upload between pages does not shift the walk.
  cache.ApplyRecord("newer", Json("newer", 400), revision++);
  absl::StatusOr<ListPosition> after = ParseListCursor(first.next_cursor);
  ASSERT_TRUE(after.ok());
  VideoPage second = cache.Page(*after, 2);
  EXPECT_EQ(Ids(second), (std::vector<std::string>{"b-mid", "c-mid"}));
  VideoPage third = cache.Page(*ParseListCursor(second.next_cursor), 2);
  EXPECT_EQ(Ids(third), (std::vector<std::string>{"old"}));
  EXPECT_TRUE(third.next_cursor.empty());
}

TEST(EtcdRecordCacheTest, DamagedValuesAreLeftOut) {
  EtcdRecordCache cache;
  EXPECT_FALSE(cache.ApplyRecord("junk", "not json", 3));
  EXPECT_FALSE(cache.ApplyRecord("clip", Json("another-id", 1), 4));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(EtcdRecordCacheTest, RecordsWithTheirFileListAreLegacyUntilRewritten) {
  EtcdRecordCache cache;
  std::string legacy =
      R"({"id":"old","title":"old.mp4","uploaded_at_ms":1,"state":"ready","files":[]})";
  ASSERT_TRUE(cache.ApplyRecord("old", legacy, 2));
  ASSERT_TRUE(cache.ApplyRecord("new", Json("new", 1, "\"files\":[].mp4"), 3));
  EXPECT_EQ(cache.LegacyIds("", 10), std::vector<std::string>{"old"});
  ASSERT_TRUE(cache.ApplyRecord("old", Json("old", 1), 4));
  EXPECT_TRUE(cache.LegacyIds("", 10).empty());
}

TEST(EtcdRecordCacheTest, ProgressFollowsTheNewestValue) {
  EtcdRecordCache cache;
  EXPECT_EQ(cache.Progress("clip"), std::nullopt);
  cache.ApplyProgress("clip", "0.500", 8);
  cache.ApplyProgress("clip", "0.250", 7);
  EXPECT_EQ(cache.Progress("clip"), 0.5);
  cache.ApplyProgressDelete("clip", 9);
  EXPECT_EQ(cache.Progress("clip"), std::nullopt);
}

}  // namespace
}  // namespace dvs::metadata
