#include "web/content_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "access/test_store.h"

namespace dvs::web {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class ContentRecordsTest : public ::testing::Test {
 protected:
  void AddVideo(const std::string& id, const std::string& generation) {
    metadata::VideoMetadata meta;
    meta.id = id;
    meta.title = id + ".mp4";
    meta.generation = generation;
    ASSERT_TRUE(store_.store().Create(meta).ok());
  }
  std::vector<std::string> TombstoneFolders() {
    std::vector<std::string> folders;
    EXPECT_TRUE(records_
                    .ForEachTombstone([&](const content::Tombstone& t) {
                      folders.push_back(t.folder);
                      return absl::OkStatus();
                    })
                    .ok());
    return folders;
  }

  access::testing::TestStore store_;
  MetadataContentRecords records_{store_.store()};
};

TEST_F(ContentRecordsTest, OnlyTheRecordsGenerationAndItsSourceAreReferenced) {
  AddVideo("clip", "0123456789abcdef");
  EXPECT_TRUE(*records_.IsReferenced("clip/0123456789abcdef"));
  EXPECT_TRUE(*records_.IsReferenced("clip/0123456789abcdef.source"));
  EXPECT_FALSE(*records_.IsReferenced("clip/fedcba9876543210"));         // an old upload
  EXPECT_FALSE(*records_.IsReferenced("clip/fedcba9876543210.source"));  // its source
  EXPECT_FALSE(*records_.IsReferenced("clip"));                   // legacy files of a newer record
  EXPECT_FALSE(*records_.IsReferenced("gone/0123456789abcdef"));  // no record at all
  EXPECT_FALSE(*records_.IsReferenced("gone"));
}

TEST_F(ContentRecordsTest, ALegacyRecordReferencesItsOneLevelFolder) {
  AddVideo("old", "");
  EXPECT_TRUE(*records_.IsReferenced("old"));
  EXPECT_FALSE(*records_.IsReferenced("old/0123456789abcdef"));
}

TEST_F(ContentRecordsTest, TombstonesAreListedUntilRemoved) {
  ASSERT_TRUE(records_.AddTombstone({"a/0123456789abcdef", 5}).ok());
  ASSERT_TRUE(records_.AddTombstone({"b/0123456789abcdef.source", 6}).ok());
  ASSERT_TRUE(records_.AddTombstone({"a/0123456789abcdef", 7}).ok());  // again: still one
  EXPECT_THAT(TombstoneFolders(),
              UnorderedElementsAre("a/0123456789abcdef", "b/0123456789abcdef.source"));
  ASSERT_TRUE(records_.RemoveTombstone("a/0123456789abcdef").ok());
  ASSERT_TRUE(records_.RemoveTombstone("a/0123456789abcdef").ok());  // none: still OK
  EXPECT_THAT(TombstoneFolders(), ElementsAre("b/0123456789abcdef.source"));
}

TEST_F(ContentRecordsTest, ManyTombstonesAreVisitedPageByPage) {
  for (int i = 0; i < 250; ++i) {
    ASSERT_TRUE(records_.AddTombstone({"v" + std::to_string(i) + "/0123456789abcdef", i}).ok());
  }
  EXPECT_EQ(TombstoneFolders().size(), 250u);
}

}  // namespace
}  // namespace dvs::web
