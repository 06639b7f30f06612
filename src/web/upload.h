// POST /upload: the multipart body streams into a temp file under
// work_dir/uploads (never into memory); when it is complete the id is made
// from the file name and reserved, the file is probed, and the video is
// queued for processing. A rejected upload leaves no record and no file.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "http/message.h"
#include "metadata/metadata_service.h"
#include "web/app.h"
#include "web/file_index_store.h"
#include "web/processing.h"

namespace dvs::web {

struct UploadContext {
  const AppOptions& options;
  metadata::VideoMetadataService& metadata;
  FileIndexStore& indexes;
  VideoProcessor& processor;
  // Uploads being received now (at most options.max_concurrent_uploads).
  mutable std::atomic<int> in_flight{0};
};

// One of the --max-uploads places for a body being received, by either
// upload path (the form's POST /upload or a tus chunk). The sink receiving
// the body holds it; it is freed when the sink goes. Move-only.
class UploadSlot {
 public:
  // ResourceExhausted (429) when every place is taken.
  [[nodiscard]] static absl::StatusOr<UploadSlot> Take(const UploadContext& context);
  UploadSlot(UploadSlot&& other) noexcept : in_flight_(std::exchange(other.in_flight_, nullptr)) {}
  UploadSlot& operator=(UploadSlot&& other) noexcept {
    if (this != &other) {
      Release();
      in_flight_ = std::exchange(other.in_flight_, nullptr);
    }
    return *this;
  }
  ~UploadSlot() { Release(); }

 private:
  void Release();
  explicit UploadSlot(std::atomic<int>& in_flight) : in_flight_(&in_flight) {}
  std::atomic<int>* in_flight_;  // null once moved from
};

// What an uploader said about a complete upload.
struct UploadedFile {
  std::string filename;  // as sent; the video's id and title come from it
  metadata::Visibility visibility = metadata::Visibility::kPublic;
  std::string owner;  // empty: an anonymous upload
};

// Turns a complete, durable upload into a video, as every upload path does:
// the id from the file name (409 when taken), a record, the file moved by
// `move_source` to the video's source path, the probe (422; the record is
// removed again), then a processing job. On error the file is where it was
// unless `move_source` had moved it (then it is gone with the job folder).
[[nodiscard]] absl::StatusOr<metadata::VideoMetadata> AcceptVideo(
    const UploadContext& context, const UploadedFile& file,
    absl::FunctionRef<absl::Status(const std::filesystem::path&)> move_source);

// The sink for one upload request (called with its head, before the body);
// the video will belong to `owner` (empty: an anonymous upload).
[[nodiscard]] absl::StatusOr<std::unique_ptr<http::BodySink>> MakeUploadSink(
    http::Request& request, const UploadContext& context, std::string owner);

}  // namespace dvs::web
