// VideoProcessor turns an accepted upload into a stored, playable video. When
// the source is browser-friendly H.264 it is first packaged as it is (on a
// queue of its own, so it never waits behind another video's ladder) and the
// video becomes playable within about a second. Then a durable job record
// (src/jobs) is written for the ladder, split into tasks: one per rendition
// and one for the audio (each encoded apart from the kept source, by
// whichever process claims it; in cluster mode the encoded part is stored
// beside the source for the others), then the packaging, which copies the
// parts into DASH + HLS, writes every file into the video's content folder
// (<id>/<generation>; segments before manifests, so a manifest never names a
// missing file), then a file index with their SHA-256, then marks the video
// ready by compare-and-set. Each ffmpeg run may take --timeout-factor times
// the video's duration (at least the --transcode-timeout floor). A
// retryable error is tried again with backoff;
// when the job fails for good the video is marked failed and its source is
// kept for a retry. Progress is published apart from the record, at most
// every kProgressInterval. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "content/content_service.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "media/job_queue.h"
#include "media/probe.h"
#include "media/transcoder.h"
#include "metadata/metadata_service.h"
#include "web/app.h"
#include "web/file_index_store.h"
#include "web/job_sources.h"

namespace dvs::web {

class VideoProcessor {
 public:
  VideoProcessor(const AppOptions& options, metadata::VideoMetadataService& metadata,
                 content::VideoContentService& content, FileIndexStore& indexes);
  ~VideoProcessor();  // StopJobs()

  // work_dir/jobs/<id>: holds `source` (the upload) and `out` (ffmpeg's output).
  std::filesystem::path JobDir(std::string_view id) const;
  std::filesystem::path SourcePath(std::string_view id) const { return JobDir(id) / "source"; }

  // Queues the processing of the video `meta` (its id and generation), whose
  // upload is at SourcePath(id).
  void Enqueue(const metadata::VideoMetadata& meta, const media::ProbeResult& probe);
  // Stops the video's job (if any), removes its job record and job folder.
  void Cancel(const std::string& id);
  // Queues a failed video again from its kept source: the video is
  // `processing` again, then its job is queued. FailedPrecondition when it
  // has not failed, or its source was not kept.
  [[nodiscard]] absl::Status Retry(const metadata::VideoMetadata& meta);
  // ResourceExhausted (429) when --max-queued videos wait to be processed.
  [[nodiscard]] absl::Status Admit();
  // See App::ResumeUnfinished. Queues a job for every `processing` video
  // without one whose source is in this process's work folder; leaves the
  // others to the process that has their upload or job.
  [[nodiscard]] absl::Status ResumeUnfinished();
  // Starts claiming jobs (options.jobs.slots at once; none with 0).
  [[nodiscard]] absl::Status StartJobs();
  // Gives the running jobs back and stops claiming. Idempotent.
  void StopJobs();

 private:
  // The name of a ladder job's last task (the others: media::LadderParts).
  static constexpr std::string_view kPackageTask = "package";
  // How often a job publishes its progress at most.
  static constexpr std::chrono::seconds kProgressInterval{2};

  // One upload of a video: a job never touches another generation's record
  // or files, so a job of a deleted video cannot write into a new one.
  struct Job {
    std::string id;
    std::string generation;
    std::string folder;  // on the content service
  };

  // Writes the ladder's job record and wakes the runner; on failure marks
  // the video failed.
  void AddLadderJob(const Job& job, const media::ProbeResult& probe);
  // The runner's callback: one run of a task of the ladder job (or of the
  // whole ladder, for a job without tasks).
  absl::Status RunJob(const jobs::JobRecord& record, const std::atomic<bool>& cancel);
  // Runs the claimed task of `record` (or the whole ladder). `finished`:
  // the video was published ready.
  absl::Status RunTask(const Job& job, const jobs::JobRecord& record,
                       const media::ProbeResult& probe, const std::atomic<bool>& cancel,
                       bool& finished);
  // An encoding task: the part goes to PartPath, and is kept for the others.
  absl::Status EncodeTask(const Job& job, const jobs::JobRecord& record,
                          const media::ProbeResult& probe, const std::atomic<bool>& cancel);
  // The last task: packages the parts and publishes the video ready.
  absl::Status PackageTask(const Job& job, const jobs::JobRecord& record,
                           const media::ProbeResult& probe, const std::atomic<bool>& cancel);
  std::filesystem::path PartPath(const Job& job, std::string_view part) const;
  // The ffmpeg options for a video of this duration: the time limit scaled.
  media::TranscodeOptions TranscodeFor(const media::ProbeResult& probe) const;
  // What publishing the ladder of `probe` changes in the record: ready.
  static std::function<void(metadata::VideoMetadata&)> ReadyWith(const media::ProbeResult& probe);
  // Publishes progress `base + share * p` of the job, at most every
  // kProgressInterval (each report is a write to the metadata backend).
  std::function<void(double)> ProgressTo(const Job& job, double base, double share);
  void OnJobFailed(const jobs::JobRecord& record);
  void ResumeOne(const metadata::VideoMetadata& meta);
  // Drops the kept sources (and job records) of videos failed longer than
  // options.jobs.keep_failed_ms ago, for those this process can reach.
  void DropExpiredSources();
  // The quick copy: stores it and marks the video playable, then queues the ladder.
  void RunQuick(const Job& job, const media::ProbeResult& probe, const std::atomic<bool>& cancel);
  absl::Status PublishQuick(const Job& job, const media::ProbeResult& probe,
                            const std::atomic<bool>& cancel);
  absl::Status Process(const Job& job, const media::ProbeResult& probe,
                       const std::atomic<bool>& cancel);
  // The job's record; Cancelled when the video was deleted or uploaded anew.
  absl::StatusOr<metadata::VideoMetadata> ReadOwn(const Job& job);
  // Stores ffmpeg's output, then a new file index (the current one with these
  // files added or replaced), then switches the record to it with `finish`
  // applied, by compare-and-set (again from a fresh read when another write
  // came in between).
  absl::Status Publish(const Job& job, const std::filesystem::path& out_dir,
                       const std::function<void(metadata::VideoMetadata&)>& finish);
  absl::StatusOr<std::vector<metadata::StoredFile>> StoreFiles(
      const Job& job, const std::filesystem::path& out_dir);
  // Reads the record, applies `change` (its error ends the update, nothing
  // written), writes it by compare-and-set; again
  // from a fresh read when another write came in between.
  absl::Status UpdateOwn(const Job& job,
                         const std::function<absl::Status(metadata::VideoMetadata&)>& change);
  // Marks the video failed and removes its files; keeps its source when
  // `keep_source` (a retry can start from it).
  void MarkFailed(const Job& job, const absl::Status& why, bool keep_source);

  const AppOptions& options_;
  metadata::VideoMetadataService& metadata_;
  content::VideoContentService& content_;
  FileIndexStore& indexes_;
  JobSources sources_;
  jobs::JobStore job_store_;
  std::unique_ptr<jobs::JobRunner> runner_;
  media::JobQueue quick_jobs_{1};
  // One fetch of a source or part at a time here: two slots running tasks of
  // one video share its local copies.
  std::mutex fetch_mutex_;
};

}  // namespace dvs::web
