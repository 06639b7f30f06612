// VideoProcessor turns an accepted upload into a stored, playable video: on
// the job queue it transcodes the source kept in the video's job folder,
// writes every file to the content service (segments before manifests, so a
// manifest never names a missing file), records the files with their SHA-256
// and marks the video ready; on failure it marks it failed and keeps nothing.
// Thread-safe.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "content/content_service.h"
#include "media/job_queue.h"
#include "media/probe.h"
#include "metadata/metadata_service.h"
#include "web/app.h"

namespace dvs::web {

class VideoProcessor {
 public:
  VideoProcessor(const AppOptions& options, metadata::VideoMetadataService& metadata,
                 content::VideoContentService& content, media::JobQueue& jobs);

  // work_dir/jobs/<id>: holds `source` (the upload) and `out` (ffmpeg's output).
  std::filesystem::path JobDir(std::string_view id) const;
  std::filesystem::path SourcePath(std::string_view id) const { return JobDir(id) / "source"; }

  // Queues the processing of a video whose upload is at SourcePath(id). The
  // probe is run again when not given.
  void Enqueue(const std::string& id, std::optional<media::ProbeResult> probe);
  // Stops the video's job (if any) and removes its job folder.
  void Cancel(const std::string& id);
  // See App::ResumeUnfinished.
  [[nodiscard]] absl::Status ResumeUnfinished();

 private:
  void Run(const std::string& id, std::optional<media::ProbeResult> probe,
           const std::atomic<bool>& cancel);
  absl::Status Process(const std::string& id, std::optional<media::ProbeResult> probe,
                       const std::atomic<bool>& cancel);
  absl::Status StoreOutput(const std::string& id, const std::filesystem::path& out_dir,
                           metadata::VideoMetadata& meta);
  void ReportProgress(const std::string& id, double progress);
  void MarkFailed(const std::string& id, const absl::Status& why);

  const AppOptions& options_;
  metadata::VideoMetadataService& metadata_;
  content::VideoContentService& content_;
  media::JobQueue& jobs_;
};

}  // namespace dvs::web
