// S3ContentService: video files as objects of one S3 bucket (Ceph RGW,
// SeaweedFS, Garage, AWS S3, Swift's s3api), under the location's prefix:
// PREFIX<video folder>/<file name>, path-style.
//
// What it promises:
// - A write is whole or absent (S3 PUTs and completed multipart uploads are
//   atomic); the store checks each body against its SHA-256, and the file's
//   SHA-256 is kept with the object (never the ETag, an MD5).
// - Reads stream with Range passed through. A read whose expected_sha256 the
//   object's recorded hash contradicts fails with DataLoss before a byte is
//   served; a whole-file read also hashes what it streams and fails at the
//   end if the bytes are not the recorded ones.
// - A store that is down or times out gives Unavailable with its reason, so
//   requests answer 503 and jobs retry.
// Thread-safe: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>

#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "content/s3/s3_client.h"
#include "content/s3/s3_upload.h"

namespace dvs::content {

struct S3ContentOptions {
  s3::S3ClientOptions client;
  s3::UploadOptions upload;
};

class S3ContentService final : public VideoContentService {
 public:
  // Lists one key of the bucket first: wrong credentials, a missing bucket or
  // a store that does not answer fail here, with the store's reason.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<S3ContentService>> Open(
      S3ContentOptions options);

  absl::Status Write(std::string_view video_id, std::string_view filename,
                     std::string_view bytes) override;
  absl::Status WriteFile(std::string_view video_id, std::string_view filename,
                         const std::filesystem::path& source) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> Read(
      std::string_view video_id, std::string_view filename,
      std::optional<ByteRange> range = std::nullopt,
      std::string_view expected_sha256 = {}) override;
  absl::StatusOr<ContentInfo> Stat(std::string_view video_id, std::string_view filename,
                                   std::string_view expected_sha256 = {}) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view video_id) override;
  // Lists the folder's objects (ListObjectsV2 by prefix) and deletes each.
  absl::Status Delete(std::string_view video_id) override;
  absl::Status CheckHealth() override;
  // A URL that GETs the file from the store itself for `expires`, signed
  // with this service's credentials (--s3-redirect); no call is made.
  absl::StatusOr<std::string> PresignedUrl(std::string_view video_id, std::string_view filename,
                                           std::chrono::seconds expires) const;

 private:
  explicit S3ContentService(S3ContentOptions options);
  absl::StatusOr<std::string> KeyFor(std::string_view video_id, std::string_view filename) const;
  // The keys directly under `prefix` (not those in deeper "folders").
  absl::StatusOr<std::vector<std::string>> ListKeys(const std::string& prefix);
  // DataLoss when the object's recorded hash is not `expected_sha256`.
  static absl::Status CheckRecordedHash(const s3::Response& response, const std::string& key,
                                        std::string_view expected_sha256);

  const S3ContentOptions options_;
  s3::S3Client client_;
};

}  // namespace dvs::content
