#include "web/processing.h"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "media/ladder.h"
#include "media/transcoder.h"
#include "spdlog/spdlog.h"
#include "web/disk_space.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

// Manifests and playlists go last: a player that finds one can fetch every
// file it names.
bool IsManifest(const std::string& name) {
  return absl::EndsWith(name, ".mpd") || absl::EndsWith(name, ".m3u8");
}

absl::StatusOr<std::vector<std::string>> OutputFiles(const fs::path& out_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", out_dir.string(), ": ", ec.message()));
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(IsManifest(a), a) < std::make_pair(IsManifest(b), b);
  });
  return names;
}

void RemoveAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) spdlog::warn("cannot remove {}: {}", path.string(), ec.message());
}

}  // namespace

VideoProcessor::VideoProcessor(const AppOptions& options, metadata::VideoMetadataService& metadata,
                               content::VideoContentService& content, FileIndexStore& indexes)
    : options_(options),
      metadata_(metadata),
      content_(content),
      indexes_(indexes),
      sources_(content, options.jobs.shared_sources),
      job_store_(metadata, options.now_ms) {
  jobs::JobRunner::Options runner;
  runner.process_id = options_.jobs.process_id;
  runner.process_id_is_exclusive = options_.jobs.process_id_is_exclusive;
  runner.slots = options_.jobs.slots;
  runner.role = options_.jobs.role;
  runner.retry.retry_for_ms = options_.jobs.retry_for_ms;
  runner.on_failed = [this](const jobs::JobRecord& record) { OnJobFailed(record); };
  // A source in a work folder is only this server's to transcode.
  runner.can_run = [this](const jobs::JobRecord& record) {
    return sources_.Reachable(record.source, SourcePath(record.video_id));
  };
  // A work folder too full for a job's files: claim nothing, look again
  // later (the web server and `dvs worker` alike, --min-free-mb).
  runner.ready_to_claim = [this] {
    return CheckFreeSpace(options_.work_dir, 0, options_.min_free_bytes);
  };
  runner.maintenance = [this] { DropExpiredSources(); };
  runner_ = std::make_unique<jobs::JobRunner>(
      metadata_, options_.now_ms, std::move(runner),
      [this](const jobs::JobRecord& record, const std::atomic<bool>& cancel) {
        return RunJob(record, cancel);
      });
}

VideoProcessor::~VideoProcessor() { StopJobs(); }

absl::Status VideoProcessor::StartJobs() { return runner_->Start(); }

void VideoProcessor::StopJobs() {
  quick_jobs_.Shutdown();
  runner_->Stop();
}

// The video is made `processing` before its job is queued: a runner that
// claimed the job first would find a failed video and drop the job.
absl::Status VideoProcessor::Retry(const metadata::VideoMetadata& meta) {
  if (meta.state != metadata::VideoState::kFailed) {
    return absl::FailedPreconditionError(
        absl::StrCat("video \"", meta.id, "\" has not failed: there is nothing to retry"));
  }
  absl::StatusOr<jobs::JobRecord> job = job_store_.Read(meta.id);
  if (absl::IsNotFound(job.status()) || (job.ok() && job->generation != meta.generation)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the source of video \"", meta.id, "\" was not kept; please upload it again"));
  }
  RETURN_IF_ERROR(job.status());
  const Job own{meta.id, meta.generation, meta.ContentFolder()};
  RETURN_IF_ERROR(UpdateOwn(own, [](metadata::VideoMetadata& video) -> absl::Status {
    if (video.state != metadata::VideoState::kFailed) {
      return absl::FailedPreconditionError("the video has not failed");
    }
    video.state = metadata::VideoState::kProcessing;
    video.error.clear();
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(job_store_.Requeue(meta.id).status());
  spdlog::info("video {} queued again", meta.id);
  runner_->Wake();
  return absl::OkStatus();
}

absl::Status VideoProcessor::Admit() { return job_store_.Admit(options_.jobs.max_queued); }

fs::path VideoProcessor::JobDir(std::string_view id) const {
  return options_.work_dir / "jobs" / std::string(id);
}

void VideoProcessor::Enqueue(const metadata::VideoMetadata& meta, const media::ProbeResult& probe) {
  Job job{meta.id, meta.generation, meta.ContentFolder()};
  if (!media::CanRemux(probe)) return AddLadderJob(job, probe);
  bool queued = quick_jobs_.Submit(job.id, [this, job, probe](const std::atomic<bool>& cancel) {
    RunQuick(job, probe, cancel);
  });
  if (!queued) spdlog::warn("video {} is already being processed", job.id);
}

void VideoProcessor::AddLadderJob(const Job& job, const media::ProbeResult& probe) {
  jobs::JobRecord record;
  record.video_id = job.id;
  record.generation = job.generation;
  record.source = sources_.Keep(job.id, job.generation, SourcePath(job.id));
  record.duration_s = std::max(0.0, probe.duration_s);
  for (const std::string& part : media::LadderParts(probe)) record.tasks.push_back({part});
  record.tasks.push_back({.name = std::string(kPackageTask), .last = true});
  absl::StatusOr<jobs::JobRecord> added = job_store_.Add(std::move(record));
  if (!added.ok()) {
    spdlog::error("cannot queue the ladder of video {}: {}", job.id, added.status().ToString());
    MarkFailed(job,
               absl::UnavailableError(absl::StrCat("the video could not be queued for processing (",
                                                   added.status().message(), "); retry it")),
               /*keep_source=*/true);
    return;
  }
  runner_->Wake();
}

// The quick job queues the ladder when it ends, so it is cancelled first.
void VideoProcessor::Cancel(const std::string& id) {
  quick_jobs_.Cancel(id);
  runner_->Cancel(id);
  if (absl::StatusOr<jobs::JobRecord> job = job_store_.Read(id); job.ok()) {
    if (absl::Status dropped = sources_.Drop(id, job->generation); !dropped.ok()) {
      spdlog::warn("cannot remove the kept source of video {}: {}", id, dropped.ToString());
    }
  }
  if (absl::Status removed = job_store_.RemoveVideo(id); !removed.ok()) {
    spdlog::warn("cannot remove the job of deleted video {}: {}", id, removed.ToString());
  }
  RemoveAll(JobDir(id));
}

void VideoProcessor::RunQuick(const Job& job, const media::ProbeResult& probe,
                              const std::atomic<bool>& cancel) {
  auto started = std::chrono::steady_clock::now();
  absl::Status status = PublishQuick(job, probe, cancel);
  if (cancel.load() || absl::IsCancelled(status)) return;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (status.ok()) {
    spdlog::info("video {} is playable as uploaded ({:.2f} s); making the ladder", job.id, seconds);
  } else {
    // Not fatal: the ladder makes the video playable too, only later.
    spdlog::warn("cannot package video {} as uploaded: {}", job.id, status.message());
  }
  AddLadderJob(job, probe);
}

absl::Status VideoProcessor::PublishQuick(const Job& job, const media::ProbeResult& probe,
                                          const std::atomic<bool>& cancel) {
  fs::path out_dir = JobDir(job.id) / "quick";
  RemoveAll(out_dir);
  media::TranscodeRequest request{
      .source = SourcePath(job.id), .probe = probe, .output_dir = out_dir, .cancel = &cancel};
  RETURN_IF_ERROR(media::Remux(request, TranscodeFor(probe)));
  RETURN_IF_ERROR(Publish(job, out_dir, [&probe](metadata::VideoMetadata& meta) {
    meta.playable = true;
    meta.renditions = {{probe.display_width(), probe.display_height(),
                        static_cast<int>(std::min<int64_t>(probe.bit_rate, INT32_MAX))}};
  }));
  RemoveAll(out_dir);
  return absl::OkStatus();
}

// One run of a video's ladder job, on whichever process claimed it. The
// runner records the outcome (done, retry later, failed: OnJobFailed).
absl::Status VideoProcessor::RunJob(const jobs::JobRecord& record,
                                    const std::atomic<bool>& cancel) {
  const Job job{record.video_id, record.generation,
                absl::StrCat(record.video_id, "/", record.generation)};
  ASSIGN_OR_RETURN(metadata::VideoMetadata meta, ReadOwn(job));
  if (meta.state != metadata::VideoState::kProcessing) {
    return absl::CancelledError(absl::StrCat("video ", job.id, " is not processing any more"));
  }
  // Checked before the claim too; a folder that filled up since is retried
  // later (ResourceExhausted), not failed.
  RETURN_IF_ERROR(CheckFreeSpace(options_.work_dir, 0, options_.min_free_bytes));
  {
    std::lock_guard<std::mutex> fetching(fetch_mutex_);
    RETURN_IF_ERROR(sources_.Fetch(record.source, job.id, job.generation, SourcePath(job.id)));
  }
  ASSIGN_OR_RETURN(media::ProbeResult probe, media::Probe(SourcePath(job.id), options_.probe));
  auto started = std::chrono::steady_clock::now();
  bool finished = false;
  absl::Status status = RunTask(job, record, probe, cancel, finished);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (status.ok() && !finished) {
    spdlog::info("video {}: part {} made ({:.1f} s)", job.id, record.tasks[record.task].name,
                 seconds);
  } else if (status.ok()) {
    spdlog::info("video {} is ready ({:.1f} s)", job.id, seconds);
    RemoveAll(JobDir(job.id));
    if (absl::Status dropped = sources_.Drop(job.id, job.generation); !dropped.ok()) {
      spdlog::warn("cannot remove the kept source of video {}: {}", job.id, dropped.ToString());
    }
  } else if (absl::IsCancelled(status) && !cancel.load()) {
    // Deleted (or uploaded anew) while it was being stored: keep nothing of
    // this generation. Another generation's files are in another folder.
    spdlog::info("processing of video {} was stopped: {}", job.id, status.message());
    (void)content_.Delete(job.folder);
  }
  return status;
}

void VideoProcessor::OnJobFailed(const jobs::JobRecord& record) {
  const Job job{record.video_id, record.generation,
                absl::StrCat(record.video_id, "/", record.generation)};
  MarkFailed(job, absl::UnknownError(record.last_error), /*keep_source=*/true);
}

absl::Status VideoProcessor::Process(const Job& job, const media::ProbeResult& probe,
                                     const std::atomic<bool>& cancel) {
  fs::path out_dir = JobDir(job.id) / "out";
  RemoveAll(out_dir);
  media::TranscodeRequest request{
      .source = SourcePath(job.id),
      .probe = probe,
      .output_dir = out_dir,
      .on_progress = ProgressTo(job, 0, 1),
      .cancel = &cancel,
  };
  RETURN_IF_ERROR(media::Transcode(request, TranscodeFor(probe)));
  if (cancel.load()) return absl::CancelledError("the video was deleted");
  return Publish(job, out_dir, ReadyWith(probe));
}

absl::StatusOr<metadata::VideoMetadata> VideoProcessor::ReadOwn(const Job& job) {
  absl::StatusOr<metadata::VideoMetadata> read = metadata_.Read(job.id);
  if (absl::IsNotFound(read.status())) {
    return absl::CancelledError(absl::StrCat("video \"", job.id, "\" was deleted"));
  }
  ASSIGN_OR_RETURN(metadata::VideoMetadata meta, std::move(read));
  if (meta.generation != job.generation) {
    return absl::CancelledError(
        absl::StrCat("video \"", job.id, "\" was deleted and uploaded again"));
  }
  return meta;
}

absl::Status VideoProcessor::UpdateOwn(
    const Job& job, const std::function<absl::Status(metadata::VideoMetadata&)>& change) {
  constexpr int kTries = 5;
  absl::Status status;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    ASSIGN_OR_RETURN(metadata::VideoMetadata meta, ReadOwn(job));
    RETURN_IF_ERROR(change(meta));
    meta.updated_at_ms = options_.now_ms();
    status = metadata_.Update(meta).status();
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

absl::Status VideoProcessor::Publish(const Job& job, const fs::path& out_dir,
                                     const std::function<void(metadata::VideoMetadata&)>& finish) {
  ASSIGN_OR_RETURN(std::vector<metadata::StoredFile> stored, StoreFiles(job, out_dir));
  return UpdateOwn(job, [&](metadata::VideoMetadata& meta) -> absl::Status {
    // The current index with the new files added, or replacing files of the
    // same name (the quick copy's manifest.mpd); the copy's segments stay for
    // players that loaded it.
    ASSIGN_OR_RETURN(FileIndexStore::Index base, indexes_.Read(meta));
    std::vector<metadata::StoredFile> files = base->files();
    files.insert(files.end(), stored.begin(), stored.end());
    metadata::FileIndex index(std::move(files));
    ASSIGN_OR_RETURN(meta.index, indexes_.Write(job.folder, index));
    meta.size_bytes = index.total_bytes();
    meta.poster = index.Find("poster.jpg") != nullptr ? "poster.jpg" : "";
    meta.hls = index.Find("master.m3u8") != nullptr;
    finish(meta);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<metadata::StoredFile>> VideoProcessor::StoreFiles(
    const Job& job, const fs::path& out_dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, OutputFiles(out_dir));
  std::vector<metadata::StoredFile> stored;
  stored.reserve(names.size());
  for (const std::string& name : names) {
    fs::path path = out_dir / name;
    ASSIGN_OR_RETURN(std::string sha256, common::Sha256OfFile(path));
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot stat ", name, ": ", ec.message()));
    RETURN_IF_ERROR(content_.WriteFile(job.folder, name, path));
    stored.push_back({name, size, std::move(sha256)});
  }
  return stored;
}

void VideoProcessor::MarkFailed(const Job& job, const absl::Status& why, bool keep_source) {
  if (absl::Status status = content_.Delete(job.folder); !status.ok()) {
    spdlog::error("cannot remove the content of failed video {}: {}", job.id, status.message());
  }
  if (keep_source) {
    RemoveAll(JobDir(job.id) / "out");
    RemoveAll(JobDir(job.id) / "quick");
  } else {
    RemoveAll(JobDir(job.id));
  }
  absl::Status status = UpdateOwn(job, [&why](metadata::VideoMetadata& meta) -> absl::Status {
    meta.state = metadata::VideoState::kFailed;
    meta.playable = false;
    meta.index = {};
    meta.poster.clear();
    meta.hls = false;
    meta.size_bytes = 0;
    meta.error = std::string(why.message().substr(0, metadata::kMaxErrorBytes));
    return absl::OkStatus();
  });
  if (!status.ok() && !absl::IsNotFound(status) && !absl::IsCancelled(status)) {
    spdlog::error("cannot mark video {} failed: {}", job.id, status.message());
  }
}

// A video with a job of its generation is the job runners' (this process's
// or another's); one without a job whose source is here was cut short
// between its upload and its job record. Any other is another server's
// upload in flight, and is left alone.
void VideoProcessor::ResumeOne(const metadata::VideoMetadata& meta) {
  absl::StatusOr<jobs::JobRecord> job = job_store_.Read(meta.id);
  if (job.ok() && job->generation == meta.generation) return;
  if (!job.ok() && !absl::IsNotFound(job.status())) {
    spdlog::warn("cannot read the job of video {}: {}", meta.id, job.status().ToString());
    return;
  }
  std::error_code ec;
  if (!fs::is_regular_file(SourcePath(meta.id), ec)) {
    spdlog::info("video {} is processing without a job here: left to the server that has it",
                 meta.id);
    return;
  }
  const Job own{meta.id, meta.generation, meta.ContentFolder()};
  absl::StatusOr<media::ProbeResult> probe = media::Probe(SourcePath(meta.id), options_.probe);
  if (!probe.ok()) {
    MarkFailed(own, probe.status(), /*keep_source=*/false);
    return;
  }
  // What the interrupted run published stays served; the rest is redone.
  spdlog::info("resuming the processing of video {}", meta.id);
  AddLadderJob(own, *probe);
}

void VideoProcessor::DropExpiredSources() {
  absl::StatusOr<std::vector<jobs::JobRecord>> all = job_store_.List();
  if (!all.ok()) {
    spdlog::warn("cannot list jobs to drop old sources: {}", all.status().ToString());
    return;
  }
  const int64_t now = options_.now_ms();
  for (const jobs::JobRecord& job : *all) {
    if (job.state != jobs::JobState::kFailed ||
        !sources_.Reachable(job.source, SourcePath(job.video_id)) ||
        job.finished_at_ms + options_.jobs.keep_failed_ms > now) {
      continue;
    }
    absl::Status dropped = sources_.Drop(job.video_id, job.generation);
    if (dropped.ok()) dropped = job_store_.Remove(job);
    if (!dropped.ok()) {
      spdlog::warn("cannot drop the source of failed video {}: {}", job.video_id,
                   dropped.ToString());
      continue;
    }
    RemoveAll(JobDir(job.video_id));
    spdlog::info("dropped the source of video {}, failed {} s ago", job.video_id,
                 (now - job.finished_at_ms) / 1000);
  }
}

// Walks every page of the list: a library is not held in memory whole.
absl::Status VideoProcessor::ResumeUnfinished() {
  constexpr size_t kPage = 500;
  std::string cursor;
  do {
    ASSIGN_OR_RETURN(metadata::VideoPage page, metadata_.List(cursor, kPage));
    for (const metadata::VideoMetadata& meta : page.videos) {
      if (meta.state == metadata::VideoState::kProcessing) ResumeOne(meta);
    }
    cursor = page.next_cursor;
  } while (!cursor.empty());
  return absl::OkStatus();
}

}  // namespace dvs::web
