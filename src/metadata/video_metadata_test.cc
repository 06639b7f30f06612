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
  meta.progress = 0.75;
  meta.error = "";
  meta.duration_s = 12.5;
  meta.width = 1920;
  meta.height = 1080;
  meta.renditions = {{1920, 1080, 5000000}, {640, 360, 800000}};
  meta.files = {{"manifest.mpd", 1234, std::string(64, 'a')},
                {"seg-1.m4s", 5000000000ull, std::string(64, 'b')}};
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

TEST(VideoMetadataTest, FindFileReturnsTheFileOfThatNameOrNull) {
  VideoMetadata meta = FullRecord();
  const StoredFile* file = meta.FindFile("seg-1.m4s");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->size, 5000000000ull);
  EXPECT_EQ(meta.FindFile("missing.m4s"), nullptr);
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
  EXPECT_EQ(json["files"][0]["name"], "manifest.mpd");
  EXPECT_EQ(json["files"][0]["sha256"], std::string(64, 'a'));
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
  EXPECT_TRUE(meta->files.empty());
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
           R"({"id":"a","state":"ready","progress":"half"})",
           R"({"id":"a","state":"ready","width":-1})",
           R"({"id":"a","state":"ready","height":99999999999})",
           R"({"id":"a","state":"ready","renditions":{}})",
           R"({"id":"a","state":"ready","renditions":[1]})",
           R"({"id":"a","state":"ready","renditions":[{"width":"wide"}]})",
           R"({"id":"a","state":"ready","files":"a.mpd"})",
           R"({"id":"a","state":"ready","files":[{"name":"a","size":-5}]})",
           R"({"id":"a","state":"ready","files":[{"name":"a","size":18446744073709551616}]})",
           R"({"id":"a","state":"ready","files":[{"name":1}]})",
       }) {
    absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
    EXPECT_EQ(meta.status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
}

TEST(VideoMetadataJsonTest, ErrorNamesTheOffendingField) {
  absl::StatusOr<VideoMetadata> meta =
      VideoMetadataFromJson(R"({"id":"a","state":"ready","files":[{"name":"x","size":"big"}]})");
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("files[0].size"), std::string_view::npos) << meta.status();
}

TEST(VideoMetadataJsonTest, DeeplyNestedUnknownFieldDoesNotCrash) {
  std::string json = R"({"id":"a","state":"ready","deep":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
  EXPECT_TRUE(meta.ok() || meta.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::metadata
