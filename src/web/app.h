// The dvs web application: the routes of DESIGN §10 over the two services
// (metadata, content) and the media pipeline. Routes are plain functions run
// on the HTTP server's worker threads; the App is safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "access/playback_signer.h"
#include "content/content_service.h"
#include "http/router.h"
#include "media/probe.h"
#include "media/transcoder.h"
#include "metadata/metadata_service.h"
#include "web/content_route.h"

namespace dvs::web {

class AccessGate;
class FileIndexStore;
class PlaybackRoutes;
class TusRoutes;
class VideoProcessor;
struct UploadContext;

// Transcoding jobs (src/jobs): how many run here, the queue's bound, how
// long retryable errors are retried, and who this process is.
struct JobOptions {
  int slots = 1;                            // --jobs; 0: this process transcodes nothing
  size_t max_queued = 1000;                 // --max-queued; more uploads get 429 (0: no bound)
  int64_t retry_for_ms = 60 * 60'000;       // --retry-for
  std::string process_id;                   // empty: a random one
  bool process_id_is_exclusive = false;     // kept in a locked file of the work folder
  bool shared_sources = false;              // cluster mode: sources in the content service too
  int64_t keep_failed_ms = 7 * 86'400'000;  // --keep-failed: a failed video's source, for a retry
  std::string role = "web";                 // in the liveness record: web or worker
  // --timeout-factor: each ffmpeg run of a video's ladder may take this many
  // times its duration; the transcode options' time_limit is the floor.
  double timeout_factor = 10;
};

struct AppOptions {
  // Uploads in flight and transcoding work: uploads/, jobs/<id>/.
  std::filesystem::path work_dir = "data/work";
  // style.css, app.js, player.js, dash.all.min.js.
  std::filesystem::path static_dir = "static";
  media::ProbeOptions probe;
  media::TranscodeOptions transcode;
  // --min-free-mb: kept free on the work folder's disk. An upload whose
  // declared length (and as much again for the transcode) does not fit above
  // it gets 507; a job waits (retries) until it does.
  uint64_t min_free_bytes = 256ull << 20;
  // Uploads whose bodies are received at once; more get 429.
  int max_concurrent_uploads = 16;
  // The largest upload (413 over it; tus announces it as Tus-Max-Size).
  uint64_t max_upload_bytes = 8ull << 30;
  // How long an unfinished tus upload is kept after its last chunk.
  std::chrono::milliseconds upload_expiry{std::chrono::hours(24)};
  // How long POST /upload?wait=1 waits for the video to be ready.
  std::chrono::milliseconds upload_wait_limit{std::chrono::minutes(30)};
  // The key of signed playback URLs, shared by every server through the
  // metadata backend (access::LoadOrCreatePlaybackKey); a random one of this
  // process when unset.
  std::optional<access::PlaybackSigner::Key> playback_key;
  std::function<int64_t()> now_ms;  // Unix time in ms; the system clock when unset
  JobOptions jobs;
  // --s3-redirect: off unless url_for is set.
  ContentRedirect content_redirect;
};

class App {
 public:
  // `gate` decides who may do what (uploads, deletes, accounts).
  App(AppOptions options, metadata::VideoMetadataService& metadata,
      content::VideoContentService& content, AccessGate& gate);
  ~App();

  void RegisterRoutes(http::Router& router);
  // At start-up: moves the file lists of records written by an older release
  // into file indexes (MigrateRecords), queues a job for every `processing`
  // video of this process that has none (VideoProcessor::ResumeUnfinished),
  // then starts running jobs. Never touches another process's jobs.
  [[nodiscard]] absl::Status ResumeUnfinished();
  // Stops running jobs, giving the running ones back. Idempotent.
  void StopJobs();
  // Gives every record still carrying its file list (schema 1) a file index
  // in its content folder and rewrites it without the list; logs how many.
  // A record that fails is left as it was, and the error returned.
  [[nodiscard]] absl::Status MigrateRecords();

  // Lists: 50 videos a page unless asked, at most 500; the index page 48.
  static constexpr size_t kDefaultPageSize = 50;
  static constexpr size_t kMaxPageSize = 500;
  static constexpr size_t kIndexPageSize = 48;

 private:
  void LoadStaticFiles();
  // Where /content/ and /play/ find a video's files.
  ContentStores Stores();
  // The video named by the route's :id, or InvalidArgument / NotFound.
  absl::StatusOr<metadata::VideoMetadata> ReadVideo(const http::Request& request);
  // The progress shown for a video: 1 when ready, else what was published.
  double ProgressOf(const metadata::VideoMetadata& meta);
  http::Response ListVideosJson(http::Request& request);
  http::Response VideoJson(http::Request& request);
  http::Response DeleteVideo(http::Request& request);
  http::Response RetryVideo(http::Request& request);
  http::Response IndexPage(http::Request& request);
  http::Response VideoPage(http::Request& request);
  http::Response Content(http::Request& request);
  absl::StatusOr<std::unique_ptr<http::BodySink>> StartUpload(http::Request& request);
  http::Response Static(http::Request& request);
  http::Response Ready(http::Request& request);

  AppOptions options_;
  metadata::VideoMetadataService& metadata_;
  content::VideoContentService& content_;
  AccessGate& gate_;
  std::unique_ptr<FileIndexStore> indexes_;
  std::unique_ptr<VideoProcessor> processor_;
  std::unique_ptr<UploadContext> upload_context_;
  std::unique_ptr<access::PlaybackSigner> signer_;
  std::unique_ptr<PlaybackRoutes> playback_;
  std::unique_ptr<TusRoutes> tus_;
  std::map<std::string, std::string, std::less<>> static_files_;  // read once at start
};

}  // namespace dvs::web
