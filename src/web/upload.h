// POST /upload: the multipart body streams into a temp file under
// work_dir/uploads (never into memory); when it is complete the id is made
// from the file name and reserved, the file is probed, and the video is
// queued for processing. A rejected upload leaves no record and no file.
#pragma once

#include <atomic>
#include <memory>
#include <string>

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

// The sink for one upload request (called with its head, before the body);
// the video will belong to `owner` (empty: an anonymous upload).
[[nodiscard]] absl::StatusOr<std::unique_ptr<http::BodySink>> MakeUploadSink(
    http::Request& request, const UploadContext& context, std::string owner);

}  // namespace dvs::web
