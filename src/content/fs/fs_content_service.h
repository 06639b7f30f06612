// The embedded content backend: ROOT/<folder>/<filename> on a local disk,
// where the folder is "<video_id>" (legacy) or "<video_id>/<generation>"
// (see VideoContentService), so a legacy folder may hold generation folders
// beside its own files. Writes go to a temp file in the same folder, are
// fsynced and renamed into place (then the folder is fsynced), so a file is
// either whole or absent.
// Safe for concurrent use from many threads.
#pragma once

#include <filesystem>
#include <memory>

#include "absl/status/statusor.h"
#include "content/content_service.h"

namespace dvs::content {

class FsContentService final : public VideoContentService {
 public:
  // Creates ROOT when missing and removes temp files a crash left behind.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FsContentService>> Open(
      const std::filesystem::path& root);

  absl::Status Write(std::string_view video_id, std::string_view filename,
                     std::string_view bytes) override;
  absl::Status WriteFile(std::string_view video_id, std::string_view filename,
                         const std::filesystem::path& source) override;
  // One copy: `expected_sha256` is ignored.
  absl::StatusOr<std::unique_ptr<ContentReader>> Read(
      std::string_view video_id, std::string_view filename,
      std::optional<ByteRange> range = std::nullopt,
      std::string_view expected_sha256 = {}) override;
  absl::StatusOr<ContentInfo> Stat(std::string_view video_id, std::string_view filename,
                                   std::string_view expected_sha256 = {}) override;
  // Opens the file: the reader's bytes are InFile().
  std::unique_ptr<ContentReader> ReadWithoutWaiting(std::string_view video_id,
                                                    std::string_view filename,
                                                    std::string_view expected_sha256) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view video_id) override;
  absl::Status Delete(std::string_view video_id) override;
  absl::Status CheckHealth() override;

 private:
  explicit FsContentService(std::filesystem::path root) : root_(std::move(root)) {}
  // ROOT/<folder>/<filename> after the folder passes common::ValidateFolder
  // and the file name common::ValidateName.
  absl::StatusOr<std::filesystem::path> PathFor(std::string_view video_id,
                                                std::string_view filename) const;

  const std::filesystem::path root_;
};

}  // namespace dvs::content
