#include "common/ids.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dvs::common {
namespace {

TEST(ValidateNameTest, AcceptsLettersDigitsDotsDashesUnderscores) {
  EXPECT_TRUE(ValidateName("clip").ok());
  EXPECT_TRUE(ValidateName("My-Trip_2024").ok());
  EXPECT_TRUE(ValidateName("chunk-0-00001.m4s").ok());
  EXPECT_TRUE(ValidateName("9").ok());
  EXPECT_TRUE(ValidateName(std::string(kMaxNameLength, 'a')).ok());
}

TEST(ValidateNameTest, RejectsEverythingThatCouldLeaveItsFolder) {
  for (const std::string& bad :
       std::vector<std::string>{"", "..", "../etc", "a/b", "a\\b", "/abs", ".hidden", "-dash", "_x",
                                "a..b", "a b", "a%2Fb", "caf\xc3\xa9", std::string("a\0b", 3)}) {
    absl::Status status = ValidateName(bad, "video id");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "accepted: " << bad;
    EXPECT_NE(status.message().find("video id"), std::string::npos) << status.message();
  }
  EXPECT_FALSE(ValidateName(std::string(kMaxNameLength + 1, 'a')).ok());
}

TEST(ValidateFolderTest, AcceptsAnIdAloneOrAnIdAndAGeneration) {
  EXPECT_TRUE(ValidateFolder("clip").ok());
  EXPECT_TRUE(ValidateFolder("clip/0123abcd0123abcd").ok());
  EXPECT_TRUE(ValidateFolder("My-Trip_2024/g.1").ok());
  EXPECT_TRUE(
      ValidateFolder(std::string(kMaxNameLength, 'a') + "/" + std::string(kMaxNameLength, 'b'))
          .ok());
}

TEST(ValidateFolderTest, SaysWhatIsWrongWithABadFolder) {
  struct Case {
    std::string folder;
    std::string complaint;
  };
  for (const Case& bad : std::vector<Case>{
           {"", "is empty"},
           {"a/b/c", "more than two parts"},
           {"a//b", "more than two parts"},
           {"/b", "empty part"},
           {"a/", "empty part"},
           {"/", "empty part"},
           {"../b", "video id must start with a letter or digit"},
           {"a..b/g", "video id must not contain"},
           {"a/g..h", "generation must not contain"},
           {"a/.hidden", "generation must start with a letter or digit"},
           {".tmp-x/g", "video id must start with a letter or digit"},
           {"a\\b", "may contain only"},
           {"a/b c", "may contain only"},
           {"a/" + std::string(kMaxNameLength + 1, 'g'), "generation is longer than"},
           {std::string("a\0/b", 4), "may contain only"},
       }) {
    absl::Status status = ValidateFolder(bad.folder, "video folder");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "accepted: " << bad.folder;
    EXPECT_NE(status.message().find("video folder"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(bad.complaint), std::string::npos)
        << bad.folder << ": " << status.message();
  }
}

TEST(ValidateFileNameTest, AcceptsPrintableUnicode) {
  for (std::string_view name :
       {"My Trip 2024.mp4", "caf\xc3\xa9.mp4", "cafe\xcc\x81.mp4", "\xe6\x97\xa5\xe6\x9c\xac.mp4",
        "\xf0\x9f\x8e\xac clip.mov", "C:\\fakepath\\a.mp4", "\xd7\xa9\xe2\x80\x8f.mp4"}) {
    EXPECT_TRUE(ValidateFileName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateFileName(std::string(kMaxFileNameBytes, 'a')).ok());
}

TEST(ValidateFileNameTest, RejectsWhatCannotBeShownAsItIs) {
  for (const std::string& bad : std::vector<std::string>{
           "", std::string(kMaxFileNameBytes + 1, 'a'), std::string("a\0b.mp4", 7), "a\nb.mp4",
           "a\x7f.mp4", "a\xc2\x85.mp4",                  // DEL, NEL (C1)
           "a\xff.mp4", "a\xc3.mp4", "\xc0\xae\xc0\xae",  // invalid, truncated, overlong
           "\xed\xa0\x80.mp4", "\xf4\x90\x80\x80",        // a surrogate, past U+10FFFF
           "clip\xe2\x80\xaegpj.mp4",
           "a\xe2\x81\xa6"
           "b.mp4"}) {  // RLO, LRI
    EXPECT_EQ(ValidateFileName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SlugFromFilenameTest, TurnsAFileNameIntoAnId) {
  EXPECT_EQ(*SlugFromFilename("My Trip 2024.mp4"), "My-Trip-2024");
  EXPECT_EQ(*SlugFromFilename("clip.mp4"), "clip");
  EXPECT_EQ(*SlugFromFilename("a.b.c.webm"), "a-b-c");
  EXPECT_EQ(*SlugFromFilename("noextension"), "noextension");
  EXPECT_EQ(*SlugFromFilename("  (draft) final!!.mov"), "draft-final");
}

TEST(SlugFromFilenameTest, DropsFoldersSentByBrowsersOrAttackers) {
  EXPECT_EQ(*SlugFromFilename("C:\\fakepath\\holiday.mp4"), "holiday");
  EXPECT_EQ(*SlugFromFilename("../../etc/passwd"), "passwd");
  EXPECT_EQ(*SlugFromFilename("..\\..\\boot.ini"), "boot");
}

TEST(SlugFromFilenameTest, ResultAlwaysPassesValidation) {
  for (const std::string& name : std::vector<std::string>{
           "é.mp4", "-x-.mp4", "a..b.mp4", "..mp4", std::string(300, 'z') + ".mp4",
           "日本語 video.mp4", "<script>alert(1)</script>.mp4"}) {
    absl::StatusOr<std::string> slug = SlugFromFilename(name);
    if (slug.ok()) {
      EXPECT_TRUE(ValidateName(*slug).ok()) << *slug;
    }
  }
  EXPECT_EQ(SlugFromFilename(std::string(300, 'z') + ".mp4")->size(), kMaxNameLength);
}

TEST(SlugFromFilenameTest, RejectsNamesWithNothingToKeep) {
  for (const std::string& bad :
       std::vector<std::string>{"", "...", "日本語.mp4", "/", "C:\\dir\\"}) {
    EXPECT_EQ(SlugFromFilename(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace dvs::common
