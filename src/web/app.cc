#include "web/app.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "access/playback_signer.h"
#include "common/ids.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "web/access_gate.h"
#include "web/access_routes.h"
#include "web/content_route.h"
#include "web/disk_space.h"
#include "web/file_index_store.h"
#include "web/pages.h"
#include "web/playback_routes.h"
#include "web/processing.h"
#include "web/tus_routes.h"
#include "web/upload.h"
#include "web/video_json.h"
#include "web/visibility.h"

namespace dvs::web {
namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view StaticContentType(std::string_view file) {
  absl::string_view name = common::AsAbsl(file);
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(name, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(name, ".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace

App::App(AppOptions options, metadata::VideoMetadataService& metadata,
         content::VideoContentService& content, AccessGate& gate)
    : options_(std::move(options)), metadata_(metadata), content_(content), gate_(gate) {
  if (!options_.now_ms) options_.now_ms = SystemNowMs;
  indexes_ = std::make_unique<FileIndexStore>(content_);
  processor_ = std::make_unique<VideoProcessor>(options_, metadata_, content_, *indexes_);
  upload_context_.reset(new UploadContext{options_, metadata_, *indexes_, *processor_});
  tus_ = std::make_unique<TusRoutes>(
      *upload_context_, gate_,
      TusOptions{.max_size = options_.max_upload_bytes, .expiry = options_.upload_expiry});
  LoadStaticFiles();
  signer_ = std::make_unique<access::PlaybackSigner>(
      options_.playback_key.value_or(access::RandomPlaybackKey()), options_.now_ms);
  playback_ = std::make_unique<PlaybackRoutes>(
      Stores(), gate_, *signer_, options_.now_ms,
      [this](const metadata::VideoMetadata& meta) { return ProgressOf(meta); });
}

App::~App() = default;

void App::LoadStaticFiles() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.static_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !common::ValidateName(name).ok()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    static_files_[name] = bytes.str();
  }
  if (ec || static_files_.empty()) {
    spdlog::warn("no static files in {}: pages will lack their style and player",
                 options_.static_dir.string());
  }
}

void App::RegisterRoutes(http::Router& router) {
  auto bind = [this](http::Response (App::*method)(http::Request&)) {
    return [this, method](http::Request& request) { return (this->*method)(request); };
  };
  router.Add("GET", "/", bind(&App::IndexPage));
  router.AddStreaming("POST", "/upload",
                      [this](http::Request& request) { return StartUpload(request); });
  router.Add("GET", "/videos/:id", bind(&App::VideoPage));
  // Private videos' files go to the worker, which asks who is asking.
  router.Add("GET", "/content/:id/:file", bind(&App::Content), [this](http::Request& request) {
    return ServeContentAtHand(request, request.params.at(0), request.params.at(1), Stores(),
                              [](const metadata::VideoMetadata& meta) {
                                return meta.visibility == metadata::Visibility::kPrivate
                                           ? NoSuchVideo(meta.id)
                                           : absl::OkStatus();
                              });
  });
  router.Add("GET", "/api/videos", bind(&App::ListVideosJson));
  router.Add("GET", "/api/videos/:id", bind(&App::VideoJson));
  router.Add("DELETE", "/api/videos/:id", bind(&App::DeleteVideo));
  router.Add("POST", "/api/videos/:id/retry", bind(&App::RetryVideo));
  router.Add("GET", "/static/:file", bind(&App::Static));
  // Answered on the I/O thread: liveness never waits behind busy handlers.
  auto alive = [](http::Request&) { return http::Response::Text(200, "ok\n"); };
  router.Add(
      "GET", "/healthz", alive,
      [alive](http::Request& request) -> std::optional<http::Response> { return alive(request); });
  router.Add("GET", "/readyz", bind(&App::Ready));
  playback_->Register(router);
  tus_->Register(router);
  RegisterAccessRoutes(router, gate_);
}

namespace {

// The body's Content-Length, when the client declared one.
std::optional<uint64_t> DeclaredLength(const http::Request& request) {
  std::optional<std::string_view> header = request.headers.Get("Content-Length");
  uint64_t length = 0;
  if (!header || !absl::SimpleAtoi(common::AsAbsl(*header), &length)) return std::nullopt;
  return length;
}

}  // namespace

// The policy is asked before any of the body is read, and the free space
// before any of it is stored (507 when the declared length does not fit).
absl::StatusOr<std::unique_ptr<http::BodySink>> App::StartUpload(http::Request& request) {
  ASSIGN_OR_RETURN(access::Principal who, gate_.Authorize(request, access::Action::kUpload));
  RETURN_IF_ERROR(CheckFreeSpace(options_.work_dir, UploadNeeds(DeclaredLength(request)),
                                 options_.min_free_bytes));
  RETURN_IF_ERROR(processor_->Admit());
  return MakeUploadSink(request, *upload_context_, who.user);
}

// Spooled request bodies of a previous run (killed mid-upload) belong to no
// video and can never be finished: they only take space.
absl::Status App::ResumeUnfinished() {
  std::error_code error;
  const std::filesystem::path spool_dir = options_.work_dir / "uploads";
  for (const auto& entry : std::filesystem::directory_iterator(spool_dir, error)) {
    if (!entry.path().filename().string().starts_with("upload-")) continue;
    std::error_code removed;
    std::filesystem::remove(entry.path(), removed);
    if (removed) {
      spdlog::warn("cannot remove {}, left by an upload cut short: {}", entry.path().string(),
                   removed.message());
    } else {
      spdlog::info("removed {}, left by an upload cut short", entry.path().string());
    }
  }
  absl::Status migrated = MigrateRecords();
  absl::Status resumed = migrated.ok() ? processor_->ResumeUnfinished() : migrated;
  // Jobs run even when the walk failed: the queue is in the job records.
  RETURN_IF_ERROR(processor_->StartJobs());
  return resumed;
}

void App::StopJobs() { processor_->StopJobs(); }

absl::Status App::MigrateRecords() {
  constexpr size_t kBatch = 100;
  size_t moved = 0;
  absl::Status first_error;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<metadata::VideoMetadataService::LegacyRecord> batch,
                     metadata_.ListLegacy(after, kBatch));
    if (batch.empty()) break;
    for (metadata::VideoMetadataService::LegacyRecord& legacy : batch) {
      after = legacy.meta.id;
      metadata::VideoMetadata& meta = legacy.meta;
      metadata::FileIndex index(std::move(legacy.files));
      absl::StatusOr<metadata::FileIndexRef> ref = indexes_->Write(meta.ContentFolder(), index);
      absl::Status status = ref.status();
      if (ref.ok()) {
        meta.index = *ref;
        meta.size_bytes = index.total_bytes();
        meta.poster = index.Find("poster.jpg") != nullptr ? "poster.jpg" : "";
        meta.hls = index.Find("master.m3u8") != nullptr;
        status = metadata_.Update(meta).status();
      }
      if (status.ok()) {
        ++moved;
      } else {
        spdlog::error("cannot migrate the record of video {}: {}", meta.id, status.message());
        first_error.Update(status);
      }
    }
  }
  if (moved > 0) {
    spdlog::info("migrated {} video records to file indexes (their files are unchanged)", moved);
  }
  return first_error;
}

absl::StatusOr<metadata::VideoMetadata> App::ReadVideo(const http::Request& request) {
  const std::string& id = request.params.at(0);
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  absl::StatusOr<metadata::VideoMetadata> meta = metadata_.Read(id);
  if (meta.status().code() == absl::StatusCode::kNotFound) return NoSuchVideo(id);
  return meta;
}

double App::ProgressOf(const metadata::VideoMetadata& meta) {
  if (meta.state == metadata::VideoState::kReady) return 1;
  if (meta.state == metadata::VideoState::kFailed) return 0;
  return metadata_.ReadProgress(meta.id).value_or(0);
}

http::Response App::IndexPage(http::Request& request) {
  std::string cursor(request.QueryParam("cursor").value_or(""));
  access::Principal who = gate_.Viewer(request);
  absl::StatusOr<metadata::VideoPage> page =
      ListShown(metadata_, cursor, kIndexPageSize,
                [&who](const metadata::VideoMetadata& meta) { return ListedFor(who, meta); });
  if (!page.ok()) return http::Response::Error(request, page.status());
  Viewer viewer{.user = who.user, .can_upload = gate_.Check(who, access::Action::kUpload).ok()};
  http::Response response = http::Response::Html(
      200, web::IndexPage(
               *page, [this](const metadata::VideoMetadata& meta) { return ProgressOf(meta); },
               !cursor.empty(), viewer));
  // The page differs by who is logged in: no shared cache may keep it.
  response.headers.Set("Cache-Control", "private, no-cache");
  return response;
}

http::Response App::VideoPage(http::Request& request) {
  absl::StatusOr<metadata::VideoMetadata> meta = ReadVideo(request);
  access::Principal who = gate_.Viewer(request);
  if (meta.ok() && !MaySee(who, *meta)) meta = NoSuchVideo(meta->id);
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  return playback_->WatchPage(*meta, who);
}

http::Response App::ListVideosJson(http::Request& request) {
  size_t limit = kDefaultPageSize;
  if (std::optional<std::string> asked = request.QueryParam("limit")) {
    if (!absl::SimpleAtoi(common::AsAbsl(*asked), &limit) || limit < 1 || limit > kMaxPageSize) {
      return http::Response::Error(
          request, absl::InvalidArgumentError(
                       absl::StrCat("limit must be a whole number from 1 to ", kMaxPageSize)));
    }
  }
  std::string cursor(request.QueryParam("cursor").value_or(""));
  access::Principal who = gate_.Viewer(request);
  absl::StatusOr<metadata::VideoPage> page =
      ListShown(metadata_, cursor, limit,
                [&who](const metadata::VideoMetadata& meta) { return ListedFor(who, meta); });
  if (!page.ok()) return http::Response::Error(request, page.status());
  return http::Response::Json(
      200, VideoPageJson(*page,
                         [this](const metadata::VideoMetadata& meta) { return ProgressOf(meta); }));
}

http::Response App::VideoJson(http::Request& request) {
  absl::StatusOr<metadata::VideoMetadata> meta = ReadVideo(request);
  if (meta.ok() && meta->visibility == metadata::Visibility::kPrivate &&
      !MaySee(gate_.Viewer(request), *meta)) {
    meta = NoSuchVideo(meta->id);
  }
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  absl::StatusOr<FileIndexStore::Index> index = indexes_->Read(*meta);
  if (!index.ok()) return http::Response::Error(request, index.status());
  return http::Response::Json(200, web::VideoJson(*meta, ProgressOf(*meta), index->get()));
}

ContentStores App::Stores() {
  return ContentStores{metadata_, *indexes_, content_,
                       options_.content_redirect.url_for ? &options_.content_redirect : nullptr};
}

// Stops the job first so that it cannot store files after they are removed.
http::Response App::DeleteVideo(http::Request& request) {
  absl::StatusOr<access::Principal> who = gate_.Identify(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  // Anonymous callers learn nothing, not even whether the video exists.
  if (who->anonymous()) {
    return AccessGate::Refusal(request, gate_.Check(*who, access::Action::kDelete));
  }
  absl::StatusOr<metadata::VideoMetadata> meta = ReadVideo(request);
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  if (absl::Status allowed = gate_.Check(*who, access::Action::kDelete, meta->owner);
      !allowed.ok()) {
    return AccessGate::Refusal(request, allowed);
  }
  processor_->Cancel(meta->id);
  absl::Status status = content_.Delete(meta->ContentFolder());
  if (status.ok()) status = metadata_.Delete(meta->id);
  if (!status.ok()) return http::Response::Error(request, status);
  spdlog::info("deleted video {} (by {})", meta->id, who->user);
  return http::Response::Text(204, "");
}

// Owner or admin, as for an edit of the video.
http::Response App::RetryVideo(http::Request& request) {
  absl::StatusOr<access::Principal> who = gate_.Identify(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  if (who->anonymous()) {
    return AccessGate::Refusal(request, gate_.Check(*who, access::Action::kEditVideo));
  }
  absl::StatusOr<metadata::VideoMetadata> meta = ReadVideo(request);
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  if (absl::Status allowed = gate_.Check(*who, access::Action::kEditVideo, meta->owner);
      !allowed.ok()) {
    return AccessGate::Refusal(request, allowed);
  }
  if (absl::Status queued = processor_->Retry(*meta); !queued.ok()) {
    return http::Response::Error(request, queued);
  }
  spdlog::info("video {} retried (by {})", meta->id, who->user);
  return VideoJson(request);
}

http::Response App::Content(http::Request& request) {
  return ServeContent(request, request.params.at(0), request.params.at(1), Stores(),
                      [this, &request](const metadata::VideoMetadata& meta) {
                        bool hidden = meta.visibility == metadata::Visibility::kPrivate &&
                                      !MaySee(gate_.Viewer(request), meta);
                        return hidden ? NoSuchVideo(meta.id) : absl::OkStatus();
                      });
}

http::Response App::Static(http::Request& request) {
  auto found = static_files_.find(request.params.at(0));
  if (found == static_files_.end()) {
    return http::Response::Error(request, absl::NotFoundError("no such file"));
  }
  http::Response response =
      http::Response::Text(200, found->second, std::string(StaticContentType(found->first)));
  response.headers.Set("Cache-Control", "public, max-age=3600");
  return response;
}

http::Response App::Ready(http::Request& request) {
  absl::Status status = metadata_.CheckHealth();
  if (status.ok()) status = content_.CheckHealth();
  if (!status.ok()) {
    return http::Response::Error(request, absl::UnavailableError(status.message()));
  }
  return http::Response::Text(200, "ready\n");
}

}  // namespace dvs::web
