// VideoProcessor turns an accepted upload into a stored, playable video. When
// the source is browser-friendly H.264 it is first packaged as it is (on a
// queue of its own, so it never waits behind another video's ladder) and the
// video becomes playable within about a second. Then, on the job queue, it
// transcodes the ladder from the source kept in the video's job folder,
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

  // Queues the processing of a video whose upload is at SourcePath(id).
  void Enqueue(const std::string& id, const media::ProbeResult& probe);
  // Stops the video's job (if any) and removes its job folder.
  void Cancel(const std::string& id);
  // See App::ResumeUnfinished.
  [[nodiscard]] absl::Status ResumeUnfinished();

 private:
  void EnqueueLadder(const std::string& id, const media::ProbeResult& probe);
  // The quick copy: stores it and marks the video playable, then queues the ladder.
  void RunQuick(const std::string& id, const media::ProbeResult& probe,
                const std::atomic<bool>& cancel);
  absl::Status PublishQuick(const std::string& id, const media::ProbeResult& probe,
                            const std::atomic<bool>& cancel);
  void Run(const std::string& id, const media::ProbeResult& probe, const std::atomic<bool>& cancel);
  absl::Status Process(const std::string& id, const media::ProbeResult& probe,
                       const std::atomic<bool>& cancel);
  absl::Status StoreOutput(const std::string& id, const std::filesystem::path& out_dir,
                           metadata::VideoMetadata& meta);
  void ReportProgress(const std::string& id, double progress);
  void MarkFailed(const std::string& id, const absl::Status& why);

  const AppOptions& options_;
  metadata::VideoMetadataService& metadata_;
  content::VideoContentService& content_;
  media::JobQueue& jobs_;
  media::JobQueue quick_jobs_{1};
};

}  // namespace dvs::web
