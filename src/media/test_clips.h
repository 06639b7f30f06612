// Test-only helpers for the media tests: a temporary directory that cleans up
// after itself, and short clips made with ffmpeg at test time.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/subprocess.h"

namespace dvs::media::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dvs-media-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs ffmpeg with `args` (after the common flags); fails the test on error.
inline void RunFfmpeg(std::vector<std::string> args) {
  common::SubprocessOptions options;
  options.argv = {"ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.time_limit = std::chrono::seconds(60);
  auto result = common::RunSubprocess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->exit_code, 0) << result->stderr_tail;
}

// An H.264 test pattern of the given size and length, with a sine tone as AAC
// audio when `audio`.
inline std::filesystem::path MakeVideo(const std::filesystem::path& out, int width, int height,
                                       double seconds, bool audio, int fps = 30) {
  std::string size = std::to_string(width) + "x" + std::to_string(height);
  std::string length = std::to_string(seconds);
  std::vector<std::string> args = {
      "-f", "lavfi", "-i", "testsrc2=s=" + size + ":r=" + std::to_string(fps) + ":d=" + length};
  if (audio) {
    args.insert(args.end(), {"-f", "lavfi", "-i", "sine=frequency=440:d=" + length, "-c:a", "aac"});
  }
  args.insert(args.end(),
              {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out.string()});
  RunFfmpeg(args);
  return out;
}

}  // namespace dvs::media::testing
