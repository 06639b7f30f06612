#include "web/processing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "media/ladder.h"
#include "media/transcoder.h"
#include "spdlog/spdlog.h"

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
                               content::VideoContentService& content, media::JobQueue& jobs)
    : options_(options), metadata_(metadata), content_(content), jobs_(jobs) {}

fs::path VideoProcessor::JobDir(std::string_view id) const {
  return options_.work_dir / "jobs" / std::string(id);
}

void VideoProcessor::Enqueue(const std::string& id, const media::ProbeResult& probe) {
  if (!media::CanRemux(probe)) return EnqueueLadder(id, probe);
  bool queued = quick_jobs_.Submit(
      id, [this, id, probe](const std::atomic<bool>& cancel) { RunQuick(id, probe, cancel); });
  if (!queued) spdlog::warn("video {} is already being processed", id);
}

void VideoProcessor::EnqueueLadder(const std::string& id, const media::ProbeResult& probe) {
  bool queued = jobs_.Submit(
      id, [this, id, probe](const std::atomic<bool>& cancel) { Run(id, probe, cancel); });
  if (!queued) spdlog::warn("video {} is already being processed", id);
}

// The quick job queues the ladder when it ends, so it is cancelled first.
void VideoProcessor::Cancel(const std::string& id) {
  quick_jobs_.Cancel(id);
  jobs_.Cancel(id);
  RemoveAll(JobDir(id));
}

void VideoProcessor::RunQuick(const std::string& id, const media::ProbeResult& probe,
                              const std::atomic<bool>& cancel) {
  auto started = std::chrono::steady_clock::now();
  absl::Status status = PublishQuick(id, probe, cancel);
  if (cancel.load()) return;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (status.ok()) {
    spdlog::info("video {} is playable as uploaded ({:.2f} s); making the ladder", id, seconds);
  } else {
    // Not fatal: the ladder makes the video playable too, only later.
    spdlog::warn("cannot package video {} as uploaded: {}", id, status.message());
  }
  EnqueueLadder(id, probe);
}

absl::Status VideoProcessor::PublishQuick(const std::string& id, const media::ProbeResult& probe,
                                          const std::atomic<bool>& cancel) {
  fs::path out_dir = JobDir(id) / "quick";
  RemoveAll(out_dir);
  media::TranscodeRequest request{
      .source = SourcePath(id), .probe = probe, .output_dir = out_dir, .cancel = &cancel};
  RETURN_IF_ERROR(media::Remux(request, options_.transcode));
  ASSIGN_OR_RETURN(metadata::VideoMetadata meta, metadata_.Read(id));
  RETURN_IF_ERROR(StoreOutput(id, out_dir, meta));
  RemoveAll(out_dir);
  meta.playable = true;
  meta.renditions = {{probe.display_width(), probe.display_height(),
                      static_cast<int>(std::min<int64_t>(probe.bit_rate, INT32_MAX))}};
  return metadata_.Update(meta);
}

void VideoProcessor::Run(const std::string& id, const media::ProbeResult& probe,
                         const std::atomic<bool>& cancel) {
  auto started = std::chrono::steady_clock::now();
  absl::Status status = Process(id, probe, cancel);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (status.ok()) {
    spdlog::info("video {} is ready ({:.1f} s)", id, seconds);
    RemoveAll(JobDir(id));
  } else if (cancel.load()) {
    spdlog::info("processing of video {} was stopped: {}", id, status.message());
  } else {
    spdlog::warn("video {} failed after {:.1f} s: {}", id, seconds, status.message());
    MarkFailed(id, status);
  }
}

absl::Status VideoProcessor::Process(const std::string& id, const media::ProbeResult& probe,
                                     const std::atomic<bool>& cancel) {
  fs::path out_dir = JobDir(id) / "out";
  RemoveAll(out_dir);
  media::TranscodeRequest request{
      .source = SourcePath(id),
      .probe = probe,
      .output_dir = out_dir,
      .on_progress = [this, id](double progress) { ReportProgress(id, progress); },
      .cancel = &cancel,
  };
  RETURN_IF_ERROR(media::Transcode(request, options_.transcode));
  if (cancel.load()) return absl::CancelledError("the video was deleted");

  ASSIGN_OR_RETURN(metadata::VideoMetadata meta, metadata_.Read(id));
  meta.duration_s = probe.duration_s;
  meta.width = probe.display_width();
  meta.height = probe.display_height();
  meta.renditions.clear();
  for (const media::RenditionPlan& plan : media::PlanLadder(probe)) {
    meta.renditions.push_back({plan.width, plan.height, plan.video_kbps * 1000});
  }
  RETURN_IF_ERROR(StoreOutput(id, out_dir, meta));
  meta.state = metadata::VideoState::kReady;
  meta.playable = true;
  meta.progress = 1;
  meta.error.clear();
  absl::Status updated = metadata_.Update(meta);
  if (!updated.ok()) {
    // Deleted while it was being stored: keep nothing of it.
    (void)content_.Delete(id);
  }
  return updated;
}

absl::Status VideoProcessor::StoreOutput(const std::string& id, const fs::path& out_dir,
                                         metadata::VideoMetadata& meta) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, OutputFiles(out_dir));
  for (const std::string& name : names) {
    fs::path path = out_dir / name;
    ASSIGN_OR_RETURN(std::string sha256, common::Sha256OfFile(path));
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot stat ", name, ": ", ec.message()));
    RETURN_IF_ERROR(content_.WriteFile(id, name, path));
    // A file of the quick copy that the ladder rewrote (manifest.mpd) is
    // replaced; the copy's segments stay for players that loaded it.
    std::erase_if(meta.files, [&](const metadata::StoredFile& file) { return file.name == name; });
    meta.files.push_back({name, size, std::move(sha256)});
  }
  return absl::OkStatus();
}

void VideoProcessor::ReportProgress(const std::string& id, double progress) {
  absl::StatusOr<metadata::VideoMetadata> meta = metadata_.Read(id);
  if (!meta.ok()) return;
  // Each update is a metadata write: skip steps too small to show.
  if (progress < 1 && std::abs(progress - meta->progress) < 0.01) return;
  meta->progress = progress;
  if (absl::Status status = metadata_.Update(*meta); !status.ok()) {
    spdlog::warn("cannot record progress of {}: {}", id, status.message());
  }
}

void VideoProcessor::MarkFailed(const std::string& id, const absl::Status& why) {
  if (absl::Status status = content_.Delete(id); !status.ok()) {
    spdlog::error("cannot remove the content of failed video {}: {}", id, status.message());
  }
  RemoveAll(JobDir(id));
  absl::StatusOr<metadata::VideoMetadata> meta = metadata_.Read(id);
  if (!meta.ok()) return;
  meta->state = metadata::VideoState::kFailed;
  meta->playable = false;
  meta->files.clear();
  meta->error = std::string(why.message());
  if (absl::Status status = metadata_.Update(*meta); !status.ok()) {
    spdlog::error("cannot mark video {} failed: {}", id, status.message());
  }
}

absl::Status VideoProcessor::ResumeUnfinished() {
  ASSIGN_OR_RETURN(std::vector<metadata::VideoMetadata> videos, metadata_.List());
  for (const metadata::VideoMetadata& meta : videos) {
    if (meta.state != metadata::VideoState::kProcessing) continue;
    // Whatever the interrupted run stored is incomplete.
    RETURN_IF_ERROR(content_.Delete(meta.id));
    metadata::VideoMetadata reset = meta;
    reset.playable = false;
    reset.progress = 0;
    reset.files.clear();
    RETURN_IF_ERROR(metadata_.Update(reset));
    std::error_code ec;
    absl::StatusOr<media::ProbeResult> probe =
        fs::is_regular_file(SourcePath(meta.id), ec)
            ? media::Probe(SourcePath(meta.id), options_.probe)
            : absl::NotFoundError("the upload is gone");
    if (probe.ok()) {
      spdlog::info("resuming the processing of video {}", meta.id);
      Enqueue(meta.id, *probe);
    } else {
      MarkFailed(meta.id, absl::AbortedError(absl::StrCat(
                              "the server stopped before the video was processed, and its "
                              "upload cannot be resumed (",
                              probe.status().message(), "); please upload it again")));
    }
  }
  return absl::OkStatus();
}

}  // namespace dvs::web
