// VideoProcessor: the tasks of a ladder job (processing.h), the time limit
// of a video's ffmpeg runs, and progress reports.
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "media/ladder.h"
#include "spdlog/spdlog.h"
#include "web/processing.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

void RemoveAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) spdlog::warn("cannot remove {}: {}", path.string(), ec.message());
}

}  // namespace

absl::Status VideoProcessor::RunTask(const Job& job, const jobs::JobRecord& record,
                                     const media::ProbeResult& probe,
                                     const std::atomic<bool>& cancel, bool& finished) {
  finished = false;
  if (record.task == jobs::kWholeJob) {  // a record written before jobs had tasks
    RETURN_IF_ERROR(Process(job, probe, cancel));
    finished = true;
    return absl::OkStatus();
  }
  if (record.tasks.at(record.task).last) {
    RETURN_IF_ERROR(PackageTask(job, record, probe, cancel));
    finished = true;
    return absl::OkStatus();
  }
  return EncodeTask(job, record, probe, cancel);
}

absl::Status VideoProcessor::EncodeTask(const Job& job, const jobs::JobRecord& record,
                                        const media::ProbeResult& probe,
                                        const std::atomic<bool>& cancel) {
  const std::string& part = record.tasks.at(record.task).name;
  const double share = 1.0 / static_cast<double>(record.tasks.size());
  const double done = static_cast<double>(std::count_if(
      record.tasks.begin(), record.tasks.end(), [](const jobs::JobTask& task) { return task.done; }));
  media::TranscodeRequest request{
      .source = SourcePath(job.id),
      .probe = probe,
      .on_progress = ProgressTo(job, done * share, share),
      .cancel = &cancel,
  };
  const fs::path local = PartPath(job, part);
  RETURN_IF_ERROR(media::EncodePart(request, part, local, TranscodeFor(probe)));
  if (cancel.load()) return absl::CancelledError("the job was stopped");
  return sources_.KeepPart(job.id, job.generation, absl::StrCat(part, ".mp4"), local);
}

absl::Status VideoProcessor::PackageTask(const Job& job, const jobs::JobRecord& record,
                                         const media::ProbeResult& probe,
                                         const std::atomic<bool>& cancel) {
  std::vector<fs::path> videos;
  fs::path audio;
  for (const jobs::JobTask& task : record.tasks) {
    if (task.last) continue;
    const fs::path local = PartPath(job, task.name);
    {
      std::lock_guard<std::mutex> fetching(fetch_mutex_);
      RETURN_IF_ERROR(
          sources_.FetchPart(job.id, job.generation, absl::StrCat(task.name, ".mp4"), local));
    }
    if (task.name == "audio") {
      audio = local;
    } else {
      videos.push_back(local);
    }
  }
  fs::path out_dir = JobDir(job.id) / "out";
  RemoveAll(out_dir);
  media::TranscodeRequest request{
      .source = SourcePath(job.id), .probe = probe, .output_dir = out_dir, .cancel = &cancel};
  RETURN_IF_ERROR(media::PackageParts(request, videos, audio, TranscodeFor(probe)));
  if (cancel.load()) return absl::CancelledError("the job was stopped");
  RETURN_IF_ERROR(Publish(job, out_dir, ReadyWith(probe)));
  if (absl::Status status = metadata_.PublishProgress(job.id, 1.0); !status.ok()) {
    spdlog::warn("cannot publish the progress of {}: {}", job.id, status.message());
  }
  return absl::OkStatus();
}

fs::path VideoProcessor::PartPath(const Job& job, std::string_view part) const {
  return JobDir(job.id) / absl::StrCat(job.generation, ".parts") / absl::StrCat(common::AsAbsl(part), ".mp4");
}

media::TranscodeOptions VideoProcessor::TranscodeFor(const media::ProbeResult& probe) const {
  media::TranscodeOptions options = options_.transcode;
  const double scaled_ms =
      std::max(0.0, probe.duration_s) * std::max(0.0, options_.jobs.timeout_factor) * 1000;
  // Bounded, so that a bogus duration cannot overflow the clock.
  constexpr double kMaxMs = 30.0 * 86'400'000;
  options.time_limit = std::max(options.time_limit,
                                std::chrono::milliseconds(static_cast<int64_t>(
                                    std::min(scaled_ms, kMaxMs))));
  return options;
}

std::function<void(metadata::VideoMetadata&)> VideoProcessor::ReadyWith(
    const media::ProbeResult& probe) {
  return [probe](metadata::VideoMetadata& meta) {
    meta.duration_s = probe.duration_s;
    meta.width = probe.display_width();
    meta.height = probe.display_height();
    meta.renditions.clear();
    for (const media::RenditionPlan& plan : media::PlanLadder(probe)) {
      meta.renditions.push_back({plan.width, plan.height, plan.video_kbps * 1000});
    }
    meta.state = metadata::VideoState::kReady;
    meta.playable = true;
    meta.error.clear();
  };
}

// Progress is published apart from the job record, and only every few
// seconds: each report is a write to the metadata backend (etcd).
std::function<void(double)> VideoProcessor::ProgressTo(const Job& job, double base,
                                                       double share) {
  auto last_report =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now() -
                                                              kProgressInterval);
  return [this, id = job.id, base, share, last_report](double progress) {
    auto now = std::chrono::steady_clock::now();
    if (progress < 1 && now - *last_report < kProgressInterval) return;
    *last_report = now;
    const double overall = std::clamp(base + share * progress, 0.0, 1.0);
    if (absl::Status status = metadata_.PublishProgress(id, overall); !status.ok()) {
      spdlog::warn("cannot publish the progress of {}: {}", id, status.message());
    }
  };
}

}  // namespace dvs::web
