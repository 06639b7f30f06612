#include "web/tus_routes.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/posix_file.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "web/disk_space.h"
#include "web/tus_protocol.h"
#include "web/tus_sinks.h"
#include "web/video_json.h"
#include "web/visibility.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

using SinkOrStatus = absl::StatusOr<std::unique_ptr<http::BodySink>>;

http::Response WithVersion(http::Response response) {
  response.headers.Set("Tus-Resumable", std::string(tus::kVersion));
  return response;
}

// The answer to a refused request whose body (if any) is read and dropped.
SinkOrStatus Refuse(const http::Request& request, int status, std::string_view message) {
  return std::make_unique<DrainSink>(WithVersion(http::ErrorResponse(request, status, message)));
}

// 412 unless the client speaks tus 1.0.0.
std::optional<http::Response> CheckVersion(const http::Request& request) {
  if (request.headers.Get("Tus-Resumable") == tus::kVersion) return std::nullopt;
  http::Response response = WithVersion(http::ErrorResponse(
      request, 412, absl::StrCat("send Tus-Resumable: ", common::AsAbsl(tus::kVersion))));
  response.headers.Set("Tus-Version", std::string(tus::kVersion));
  return response;
}

bool CarriesChunk(const http::Request& request) {
  return request.headers.Get("Content-Type") == tus::kChunkContentType;
}

absl::StatusOr<std::optional<tus::Checksum>> ChecksumOf(const http::Request& request) {
  std::optional<std::string_view> header = request.headers.Get("Upload-Checksum");
  if (!header) return std::nullopt;
  ASSIGN_OR_RETURN(tus::Checksum checksum, tus::ParseChecksum(*header));
  return checksum;
}

// What the creator says: the file name (the video's id comes from it) and
// the visibility, both checked now rather than after the bytes arrive.
absl::StatusOr<TusUpload> DescribedUpload(const http::Request& request) {
  TusUpload upload;
  if (request.headers.Get("Upload-Defer-Length")) {
    return absl::InvalidArgumentError("Upload-Defer-Length is not supported; send Upload-Length");
  }
  ASSIGN_OR_RETURN(upload.length,
                   tus::ParseCount(request.headers.Get("Upload-Length"), "Upload-Length"));
  ASSIGN_OR_RETURN(auto metadata,
                   tus::ParseMetadata(request.headers.Get("Upload-Metadata").value_or("")));
  auto filename = metadata.find("filename");
  if (filename == metadata.end() || filename->second.empty()) {
    return absl::InvalidArgumentError("Upload-Metadata must carry the filename");
  }
  upload.filename = filename->second;
  RETURN_IF_ERROR(common::ValidateFileName(upload.filename));
  RETURN_IF_ERROR(common::SlugFromFilename(upload.filename).status());
  if (auto visibility = metadata.find("visibility"); visibility != metadata.end()) {
    upload.visibility = visibility->second;
  }
  RETURN_IF_ERROR(ParseVisibility(upload.visibility).status());
  return upload;
}

}  // namespace

TusRoutes::TusRoutes(const UploadContext& context, AccessGate& gate, TusOptions options)
    : context_(context),
      gate_(gate),
      options_(options),
      store_(context.options.work_dir / "tus", context.options.now_ms) {
  sweeper_ = std::thread([this] { Sweep(); });
}

TusRoutes::~TusRoutes() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sweeper_.join();
}

void TusRoutes::Sweep() {
  // Often enough that an upload outlives its expiry by a fraction of it.
  const auto period = std::clamp<std::chrono::milliseconds>(
      options_.expiry / 4, std::chrono::milliseconds(250), std::chrono::minutes(5));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    store_.RemoveExpired();
    lock.lock();
    wake_.wait_for(lock, period, [this] { return stopping_; });
  }
}

void TusRoutes::Register(http::Router& router) {
  auto bind = [this](http::Response (TusRoutes::*method)(http::Request&)) {
    return [this, method](http::Request& request) { return (this->*method)(request); };
  };
  // The endpoint with and without its trailing slash.
  for (std::string_view endpoint : {"/api/uploads", "/api/uploads/"}) {
    router.Add("OPTIONS", endpoint, bind(&TusRoutes::Options));
    router.AddStreaming("POST", endpoint,
                        [this](http::Request& request) { return StartCreation(request); });
  }
  router.Add("OPTIONS", "/api/uploads/:id", bind(&TusRoutes::Options));
  router.AddStreaming("PATCH", "/api/uploads/:id",
                      [this](http::Request& request) { return StartPatch(request); });
  router.Add("GET", "/api/uploads/:id", bind(&TusRoutes::Status));  // and HEAD
  router.Add("DELETE", "/api/uploads/:id", bind(&TusRoutes::Terminate));
}

void TusRoutes::AddUploadHeaders(const TusUpload& upload, http::Response& response) const {
  response.headers.Set("Tus-Resumable", std::string(tus::kVersion));
  response.headers.Set("Upload-Offset", absl::StrCat(upload.offset));
  response.headers.Set("Cache-Control", "no-store");
  if (upload.state == TusUpload::State::kReceiving) {
    response.headers.Set("Upload-Expires", tus::HttpDate(upload.expires_ms));
  }
  if (upload.state == TusUpload::State::kDone) {
    response.headers.Set("Video-Location", VideoPagePath(upload.video_id));
  }
}

http::Response TusRoutes::Options(http::Request&) {
  http::Response response = WithVersion(http::Response::Text(204, ""));
  response.headers.Set("Tus-Version", std::string(tus::kVersion));
  response.headers.Set("Tus-Extension", std::string(tus::kExtensions));
  response.headers.Set("Tus-Max-Size", absl::StrCat(options_.max_size));
  response.headers.Set("Tus-Checksum-Algorithm", std::string(tus::kChecksumAlgorithms));
  return response;
}

absl::StatusOr<access::Principal> TusRoutes::Uploader(const http::Request& request) {
  return gate_.Authorize(request, access::Action::kUpload);
}

absl::StatusOr<TusUpload> TusRoutes::OwnUpload(const http::Request& request,
                                               const access::Principal& who) {
  ASSIGN_OR_RETURN(TusUpload upload, store_.Read(request.params.at(0)));
  if (upload.owner != who.user) return absl::NotFoundError("no such upload");
  return upload;
}

SinkOrStatus TusRoutes::StartCreation(http::Request& request) {
  ASSIGN_OR_RETURN(access::Principal who, Uploader(request));
  if (auto refused = CheckVersion(request)) return std::make_unique<DrainSink>(std::move(*refused));
  ASSIGN_OR_RETURN(TusUpload upload, DescribedUpload(request));
  if (upload.length > options_.max_size) {
    return Refuse(request, 413,
                  absl::StrCat("the upload is larger than this server takes (", options_.max_size,
                               " bytes)"));
  }
  ASSIGN_OR_RETURN(std::string id, common::SlugFromFilename(upload.filename));
  if (context_.metadata.Read(id).ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a video with the id \"", id, "\" exists already; rename the file or delete that video"));
  }
  // 507 now rather than a disk that fills up halfway.
  RETURN_IF_ERROR(CheckFreeSpace(context_.options.work_dir, UploadNeeds(upload.length),
                                 context_.options.min_free_bytes));
  RETURN_IF_ERROR(context_.processor.Admit());
  const bool with_chunk = CarriesChunk(request);
  std::optional<tus::Checksum> checksum;
  std::optional<UploadSlot> slot;  // taken before the upload exists: a 429 leaves nothing
  if (with_chunk) {
    ASSIGN_OR_RETURN(checksum, ChecksumOf(request));
    ASSIGN_OR_RETURN(slot, UploadSlot::Take(context_));
  }
  upload.owner = who.user;
  upload.expires_ms = store_.now_ms() + options_.expiry.count();
  ASSIGN_OR_RETURN(upload, store_.Create(std::move(upload)));
  spdlog::info("upload {} created for {} ({} bytes, by {})", upload.id, upload.filename,
               upload.length, who.anonymous() ? "anonymous" : who.user);
  if (!with_chunk) {
    http::Response response = http::Response::Text(201, "");
    response.headers.Set("Location", absl::StrCat("/api/uploads/", upload.id));
    AddUploadHeaders(upload, response);
    return std::make_unique<DrainSink>(std::move(response));
  }
  ASSIGN_OR_RETURN(TusStore::Lease lease, store_.Acquire(upload.id));
  return TusWriteSink::Open(*this, request, *std::move(slot), std::move(lease), std::move(upload),
                            checksum,
                            /*created=*/true);
}

SinkOrStatus TusRoutes::StartPatch(http::Request& request) {
  ASSIGN_OR_RETURN(access::Principal who, Uploader(request));
  ASSIGN_OR_RETURN(TusUpload upload, OwnUpload(request, who));
  if (auto refused = CheckVersion(request)) return std::make_unique<DrainSink>(std::move(*refused));
  if (!CarriesChunk(request)) {
    return Refuse(
        request, 415,
        absl::StrCat("a PATCH carries Content-Type: ", common::AsAbsl(tus::kChunkContentType)));
  }
  ASSIGN_OR_RETURN(uint64_t offset,
                   tus::ParseCount(request.headers.Get("Upload-Offset"), "Upload-Offset"));
  ASSIGN_OR_RETURN(std::optional<tus::Checksum> checksum, ChecksumOf(request));
  ASSIGN_OR_RETURN(UploadSlot slot, UploadSlot::Take(context_));
  absl::StatusOr<TusStore::Lease> lease = store_.Acquire(upload.id);
  if (!lease.ok()) return Refuse(request, 423, common::AsStd(lease.status().message()));
  // Read again under the lease: a PATCH that just ended moved the offset.
  ASSIGN_OR_RETURN(upload, OwnUpload(request, who));
  if (upload.state == TusUpload::State::kFailed) {
    return Refuse(request, 410, absl::StrCat("the upload was refused: ", upload.error));
  }
  if (upload.state == TusUpload::State::kDone && offset == upload.offset) {
    http::Response response = http::Response::Text(204, "");  // nothing left to send
    AddUploadHeaders(upload, response);
    return std::make_unique<DrainSink>(std::move(response));
  }
  if (offset != upload.offset) {
    http::Response response = http::ErrorResponse(
        request, 409,
        absl::StrCat("Upload-Offset is ", offset, " but the upload is at ", upload.offset));
    AddUploadHeaders(upload, response);
    return std::make_unique<DrainSink>(std::move(response));
  }
  return TusWriteSink::Open(*this, request, std::move(slot), std::move(*lease), std::move(upload),
                            std::move(checksum), /*created=*/false);
}

std::optional<metadata::VideoMetadata> TusRoutes::AcceptedBeforeACrash(const TusUpload& upload) {
  std::error_code ec;
  if (fs::exists(store_.DataPath(upload.id), ec) || ec) return std::nullopt;
  absl::StatusOr<std::string> id = common::SlugFromFilename(upload.filename);
  if (!id.ok()) return std::nullopt;
  absl::StatusOr<metadata::VideoMetadata> video = context_.metadata.Read(*id);
  if (!video.ok() || video->owner != upload.owner) return std::nullopt;
  return *std::move(video);
}

absl::StatusOr<std::string> TusRoutes::Complete(TusUpload& upload) {
  if (upload.state == TusUpload::State::kDone) return upload.video_id;
  const fs::path data = store_.DataPath(upload.id);
  absl::StatusOr<metadata::VideoMetadata> video = [&]() -> absl::StatusOr<metadata::VideoMetadata> {
    // AcceptVideo moves the bytes away only once the video's record exists:
    // with the bytes gone and a video of that name and owner there, it had
    // made the video when the server stopped before saving the outcome.
    if (std::optional<metadata::VideoMetadata> made = AcceptedBeforeACrash(upload)) {
      spdlog::info("upload {} had become video {} before a restart", upload.id, made->id);
      return *std::move(made);
    }
    ASSIGN_OR_RETURN(metadata::Visibility visibility, ParseVisibility(upload.visibility));
    return AcceptVideo(
        context_, {.filename = upload.filename, .visibility = visibility, .owner = upload.owner},
        [&data](const fs::path& target) -> absl::Status {
          std::error_code ec;
          fs::create_directories(target.parent_path(), ec);
          if (ec) return common::FsError(ec, "cannot create", target.parent_path());
          return common::RenameDurably(data, target);
        });
  }();
  if (video.ok()) {
    upload.state = TusUpload::State::kDone;
    upload.video_id = video->id;
  } else {
    upload.state = TusUpload::State::kFailed;
    upload.error = std::string(video.status().message());
    upload.error_status = common::HttpStatusFor(video.status().code());
    std::error_code ignored;
    fs::remove(data, ignored);
  }
  // Kept until it expires, for GET /api/uploads/<id>.
  upload.expires_ms = store_.now_ms() + options_.expiry.count();
  if (absl::Status saved = store_.Save(upload); !saved.ok()) {
    spdlog::error("upload {}: cannot record its outcome: {}", upload.id, saved.message());
  }
  if (!video.ok()) return video.status();
  spdlog::info("upload {} finished: video {}", upload.id, video->id);
  return video->id;
}

// HEAD (tus) or GET (a JSON status, for pages and scripts).
http::Response TusRoutes::Status(http::Request& request) {
  const bool head = request.method == "HEAD";
  if (head) {
    if (auto refused = CheckVersion(request)) return std::move(*refused);
  }
  absl::StatusOr<access::Principal> who = Uploader(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<TusUpload> upload = OwnUpload(request, *who);
  if (!upload.ok()) return WithVersion(http::Response::Error(request, upload.status()));
  // All bytes arrived but the server stopped before it made the video.
  if (upload->state == TusUpload::State::kReceiving && upload->offset == upload->length) {
    if (absl::StatusOr<TusStore::Lease> lease = store_.Acquire(upload->id); lease.ok()) {
      upload = OwnUpload(request, *who);
      if (upload.ok()) (void)Complete(*upload);
    }
    if (!upload.ok()) return WithVersion(http::Response::Error(request, upload.status()));
  }
  if (head && upload->state == TusUpload::State::kFailed) {
    return WithVersion(
        http::ErrorResponse(request, 410, absl::StrCat("the upload was refused: ", upload->error)));
  }
  nlohmann::json status = {{"id", upload->id},
                           {"state", TusStateName(upload->state)},
                           {"offset", upload->offset},
                           {"length", upload->length},
                           {"filename", upload->filename},
                           {"visibility", upload->visibility},
                           {"expires_at_ms", upload->expires_ms}};
  if (upload->state == TusUpload::State::kDone) {
    status["video_id"] = upload->video_id;
    status["video_url"] = VideoPagePath(upload->video_id);
  }
  if (upload->state == TusUpload::State::kFailed) {
    status["error"] = upload->error;
    status["error_status"] = upload->error_status;
  }
  http::Response response =
      head ? http::Response::Text(200, "")
           : http::Response::Json(
                 200, status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  response.headers.Set("Upload-Length", absl::StrCat(upload->length));
  AddUploadHeaders(*upload, response);
  return response;
}

http::Response TusRoutes::Terminate(http::Request& request) {
  if (auto refused = CheckVersion(request)) return std::move(*refused);
  absl::StatusOr<access::Principal> who = Uploader(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<TusUpload> upload = OwnUpload(request, *who);
  if (!upload.ok()) return WithVersion(http::Response::Error(request, upload.status()));
  absl::StatusOr<TusStore::Lease> lease = store_.Acquire(upload->id);
  if (!lease.ok())
    return WithVersion(http::ErrorResponse(request, 423, common::AsStd(lease.status().message())));
  if (absl::Status removed = store_.Remove(upload->id); !removed.ok()) {
    return WithVersion(http::Response::Error(request, removed));
  }
  spdlog::info("upload {} terminated", upload->id);
  return WithVersion(http::Response::Text(204, ""));
}

}  // namespace dvs::web
