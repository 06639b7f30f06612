#include "metadata/video_metadata.h"

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace dvs::metadata {
namespace {

VideoMetadata FullRecord() {
  VideoMetadata meta;
  meta.id = "My-Trip-2024";
  meta.title = "My Trip 2024.mp4";
  meta.uploaded_at_ms = 1718000000123;
  meta.state = VideoState::kReady;
  meta.playable = true;
  meta.owner = "alice";
  meta.visibility = Visibility::kPrivate;
  meta.updated_at_ms = 1718000000999;
  meta.error = "";
  meta.duration_s = 12.5;
  meta.width = 1920;
  meta.height = 1080;
  meta.renditions = {{1920, 1080, 5000000}, {640, 360, 800000}};
  meta.size_bytes = 5000001234ull;
  meta.poster = "poster.jpg";
  meta.hls = true;
  meta.generation = "00ff00ff00ff00ff";
  meta.index = {FileIndexName(std::string(64, 'd')), std::string(64, 'd'), 2};
  return meta;
}

absl::StatusCode CodeOf(std::string_view json) {
  return VideoMetadataFromJson(json).status().code();
}

TEST(VideoStateTest, NamesAreTheWireNames) {
  EXPECT_EQ(VideoStateName(VideoState::kProcessing), "processing");
  EXPECT_EQ(VideoStateName(VideoState::kReady), "ready");
  EXPECT_EQ(VideoStateName(VideoState::kFailed), "failed");
}

TEST(FileIndexTest, FindsByNameAndTheLastEntryOfANameWins) {
  FileIndex index({{"seg-1.m4s", 5000000000ull, std::string(64, 'b')},
                   {"manifest.mpd", 1, std::string(64, 'a')},
                   {"manifest.mpd", 1234, std::string(64, 'c')}});
  ASSERT_EQ(index.files().size(), 2u);
  EXPECT_EQ(index.files()[0].name, "manifest.mpd");  // sorted
  const StoredFile* file = index.Find("manifest.mpd");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->size, 1234u);
  EXPECT_EQ(index.Find("missing.m4s"), nullptr);
  EXPECT_EQ(index.total_bytes(), 5000001234ull);
}

TEST(FileIndexTest, JsonRoundTripsAndRefusesGarbage) {
  FileIndex index({{"a.m4s", 3, std::string(64, 'b')}, {"b.mpd", 4, std::string(64, 'c')}});
  absl::StatusOr<FileIndex> back = FileIndexFromJson(ToJson(index));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, index);
  EXPECT_FALSE(FileIndexFromJson("[]").ok());
  EXPECT_FALSE(FileIndexFromJson(R"({"files":[{"name":"a","size":-5}]})").ok());
}

TEST(VideoMetadataTest, TheContentFolderIsTheIdAndGeneration) {
  VideoMetadata meta = FullRecord();
  EXPECT_EQ(meta.ContentFolder(), "My-Trip-2024/00ff00ff00ff00ff");
  meta.generation.clear();  // stored before generations
  EXPECT_EQ(meta.ContentFolder(), "My-Trip-2024");
  EXPECT_NE(NewGeneration(), NewGeneration());
  EXPECT_EQ(NewGeneration().size(), 16u);
}

TEST(VideoMetadataTest, ARecordStaysSmallWhateverTheVideo) {
  VideoMetadata meta = FullRecord();
  meta.title = std::string(1024, 't');
  meta.error = std::string(kMaxErrorBytes, 'e');
  absl::StatusOr<std::string> json = RecordJson(meta);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_LE(json->size(), kMaxRecordBytes);
  meta.error = std::string(kMaxRecordBytes, 'e');
  EXPECT_EQ(RecordJson(meta).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VideoMetadataJsonTest, ARecordOfTheFormerFormatParsesAndGivesUpItsFiles) {
  constexpr std::string_view kOld =
      R"({"id":"a","title":"a.mp4","uploaded_at_ms":5,"state":"ready","playable":true,)"
      R"("progress":1,"error":"","duration_s":2,"width":4,"height":2,"renditions":[],)"
      R"("files":[{"name":"manifest.mpd","size":9,"sha256":"ab"}]})";
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(kOld);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->id, "a");
  EXPECT_TRUE(meta->index.empty());
  EXPECT_TRUE(meta->generation.empty());
  absl::StatusOr<std::optional<std::vector<StoredFile>>> files = LegacyFilesFromJson(kOld);
  ASSERT_TRUE(files.ok() && files->has_value());
  EXPECT_EQ(**files, (std::vector<StoredFile>{{"manifest.mpd", 9, "ab"}}));
  absl::StatusOr<std::optional<std::vector<StoredFile>>> none =
      LegacyFilesFromJson(ToJson(FullRecord()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(VideoMetadataJsonTest, CursorsRoundTripAndOthersAreRefused) {
  VideoMetadata meta = FullRecord();
  absl::StatusOr<ListPosition> position = ParseListCursor(ListCursorAfter(meta));
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(position->uploaded_at_ms, meta.uploaded_at_ms);
  EXPECT_EQ(position->id, meta.id);
  for (std::string_view bad : {"", "5", "5.", "a.b", ".id", "5.../etc"}) {
    EXPECT_FALSE(ParseListCursor(bad).ok()) << bad;
  }
}

TEST(VideoMetadataJsonTest, RoundTripKeepsEveryField) {
  VideoMetadata meta = FullRecord();
  absl::StatusOr<VideoMetadata> back = VideoMetadataFromJson(ToJson(meta));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, meta);
}

TEST(VideoMetadataJsonTest, RoundTripKeepsEachState) {
  for (VideoState state : {VideoState::kProcessing, VideoState::kReady, VideoState::kFailed}) {
    VideoMetadata meta = FullRecord();
    meta.state = state;
    meta.error = state == VideoState::kFailed ? "ffmpeg exited with 1" : "";
    absl::StatusOr<VideoMetadata> back = VideoMetadataFromJson(ToJson(meta));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, meta);
  }
}

TEST(VideoMetadataJsonTest, UsesTheDocumentedFieldNames) {
  nlohmann::json json = nlohmann::json::parse(ToJson(FullRecord()));
  EXPECT_EQ(json["id"], "My-Trip-2024");
  EXPECT_EQ(json["state"], "ready");
  EXPECT_EQ(json["uploaded_at_ms"], 1718000000123);
  EXPECT_EQ(json["renditions"][1]["bandwidth"], 800000);
  EXPECT_EQ(json["visibility"], "private");
  EXPECT_EQ(json["generation"], "00ff00ff00ff00ff");
  EXPECT_EQ(json["index"]["sha256"], std::string(64, 'd'));
  EXPECT_FALSE(json.contains("files"));
}

TEST(VideoMetadataJsonTest, InvalidUtf8InTitleDoesNotThrowAndStillParses) {
  VideoMetadata meta = FullRecord();
  meta.title = "clip\xff\xfe.mp4";
  std::string json;
  ASSERT_NO_THROW(json = ToJson(meta));
  absl::StatusOr<VideoMetadata> back = VideoMetadataFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, meta.id);
}

TEST(VideoMetadataJsonTest, MinimalRecordTakesDefaults) {
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(R"({"id":"a","state":"processing"})");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->id, "a");
  EXPECT_EQ(meta->state, VideoState::kProcessing);
  EXPECT_FALSE(meta->playable);
  EXPECT_EQ(meta->visibility, Visibility::kPublic);
  EXPECT_TRUE(meta->index.empty());
}

TEST(VideoMetadataJsonTest, UnknownFieldsAreIgnored) {
  absl::StatusOr<VideoMetadata> meta =
      VideoMetadataFromJson(R"({"id":"a","state":"ready","future":{"x":[1,2]},"v":2})");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->state, VideoState::kReady);
}

TEST(VideoMetadataJsonTest, GarbageIsInvalidArgument) {
  const std::string_view kGarbage[] = {"",
                                       "   ",
                                       "not json",
                                       "{",
                                       "{\"id\":",
                                       "[]",
                                       "42",
                                       "null",
                                       "\"video\"",
                                       "{\"id\":\"a\"",
                                       "\xff\xfe\xfd",
                                       std::string_view("{\"id\":\"a\0\"}", 11)};
  for (std::string_view garbage : kGarbage) {
    EXPECT_EQ(CodeOf(garbage), absl::StatusCode::kInvalidArgument) << garbage;
  }
}

TEST(VideoMetadataJsonTest, MissingOrEmptyIdIsInvalidArgument) {
  EXPECT_EQ(CodeOf(R"({"state":"ready"})"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(R"({"id":"","state":"ready"})"), absl::StatusCode::kInvalidArgument);
}

TEST(VideoMetadataJsonTest, MissingOrUnknownStateIsInvalidArgument) {
  EXPECT_EQ(CodeOf(R"({"id":"a"})"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(R"({"id":"a","state":"READY"})"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(R"({"id":"a","state":"done"})"), absl::StatusCode::kInvalidArgument);
}

TEST(VideoMetadataJsonTest, WrongTypesAreInvalidArgument) {
  for (std::string_view json : {
           R"({"id":7,"state":"ready"})",
           R"({"id":"a","state":1})",
           R"({"id":"a","state":"ready","title":["x"]})",
           R"({"id":"a","state":"ready","uploaded_at_ms":"yesterday"})",
           R"({"id":"a","state":"ready","uploaded_at_ms":1.5})",
           R"({"id":"a","state":"ready","playable":"yes"})",
           R"({"id":"a","state":"ready","size_bytes":"half"})",
           R"({"id":"a","state":"ready","visibility":"secret"})",
           R"({"id":"a","state":"ready","index":{"name":3}})",
           R"({"id":"a","state":"ready","width":-1})",
           R"({"id":"a","state":"ready","height":99999999999})",
           R"({"id":"a","state":"ready","renditions":{}})",
           R"({"id":"a","state":"ready","renditions":[1]})",
           R"({"id":"a","state":"ready","renditions":[{"width":"wide"}]})",
       }) {
    absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
    EXPECT_EQ(meta.status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
  for (std::string_view json : {
           R"({"id":"a","state":"ready","files":"a.mpd"})",
           R"({"id":"a","state":"ready","files":[{"name":"a","size":-5}]})",
           R"({"id":"a","state":"ready","files":[{"name":"a","size":18446744073709551616}]})",
           R"({"id":"a","state":"ready","files":[{"name":1}]})",
       }) {
    EXPECT_EQ(LegacyFilesFromJson(json).status().code(), absl::StatusCode::kInvalidArgument)
        << json;
  }
}

TEST(VideoMetadataJsonTest, ErrorNamesTheOffendingField) {
  absl::StatusOr<VideoMetadata> meta =
      VideoMetadataFromJson(R"({"id":"a","state":"ready","renditions":[{"width":"big"}]})");
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("renditions[0].width"), std::string_view::npos)
      << meta.status();
}

TEST(VideoMetadataJsonTest, DeeplyNestedUnknownFieldDoesNotCrash) {
  std::string json = R"({"id":"a","state":"ready","deep":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
  EXPECT_TRUE(meta.ok() || meta.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::metadata
