#include "web/tus_sinks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "web/tus_routes.h"
#include "web/video_json.h"
#include "web/web_metrics.h"

namespace dvs::web {

absl::StatusOr<std::unique_ptr<TusWriteSink>> TusWriteSink::Open(
    TusRoutes& routes, const http::Request& request, UploadSlot slot, TusStore::Lease lease,
    TusUpload upload, std::optional<tus::Checksum> checksum, bool created) {
  std::unique_ptr<TusWriteSink> sink(new TusWriteSink(routes, request, std::move(slot),
                                                      std::move(lease), std::move(upload),
                                                      std::move(checksum), created));
  const std::filesystem::path path = routes.store().DataPath(sink->upload_.id);
  ASSIGN_OR_RETURN(sink->fd_, common::OpenFd(path, O_WRONLY | O_CREAT));
  // Bytes past the durable offset are what a crash left half-written.
  if (::ftruncate(sink->fd_.get(), static_cast<off_t>(sink->start_)) != 0 ||
      ::lseek(sink->fd_.get(), static_cast<off_t>(sink->start_), SEEK_SET) < 0) {
    return common::ErrnoError(errno, "cannot prepare", path);
  }
  return sink;
}

TusWriteSink::TusWriteSink(TusRoutes& routes, const http::Request& request, UploadSlot slot,
                           TusStore::Lease lease, TusUpload upload,
                           std::optional<tus::Checksum> checksum, bool created)
    : routes_(routes),
      slot_(std::move(slot)),
      lease_(std::move(lease)),
      upload_(std::move(upload)),
      start_(upload_.offset),
      checksum_(std::move(checksum)),
      created_(created) {
  head_.method = request.method;
  head_.path = request.path;
  head_.headers = request.headers;
  if (checksum_) digest_ = std::make_unique<tus::ChunkDigest>(checksum_->algorithm);
}

TusWriteSink::~TusWriteSink() {
  if (settled_ || written_ == 0 || checksum_.has_value()) return;
  if (absl::Status kept = Commit(); !kept.ok()) {
    spdlog::warn("upload {}: cannot keep the bytes of a chunk cut short: {}", upload_.id,
                 kept.message());
    return;
  }
  spdlog::info("upload {}: a chunk was cut short; kept {} bytes (offset {})", upload_.id, written_,
               upload_.offset);
}

absl::Status TusWriteSink::Consume(std::string_view chunk) {
  if (chunk.size() > upload_.length - start_ - written_) {
    settled_ = true;  // nothing of this chunk is kept
    return absl::InvalidArgumentError(
        absl::StrCat("the chunk goes past the upload's length (", upload_.length, " bytes)"));
  }
  UploadBytesCounter().Inc(static_cast<double>(chunk.size()));
  absl::Status written = common::WriteAll(fd_.get(), chunk, routes_.store().DataPath(upload_.id));
  if (!written.ok()) {
    settled_ = true;
    return written;
  }
  if (digest_) digest_->Update(chunk);
  written_ += chunk.size();
  return absl::OkStatus();
}

absl::Status TusWriteSink::Commit() {
  RETURN_IF_ERROR(fd_.SyncAndClose(routes_.store().DataPath(upload_.id)));
  upload_.offset = start_ + written_;
  upload_.expires_ms = routes_.store().now_ms() + routes_.options().expiry.count();
  return routes_.store().Save(upload_);
}

http::Response TusWriteSink::Finish() {
  settled_ = true;
  if (digest_ && digest_->Final() != checksum_->digest) {
    // The offset stays where it was; the next write cuts these bytes off.
    http::Response response = http::ErrorResponse(
        head_, 460, "Upload-Checksum does not match the chunk; the chunk was discarded");
    routes_.AddUploadHeaders(upload_, response);
    return response;
  }
  if (absl::Status committed = Commit(); !committed.ok()) {
    return http::Response::Error(head_, committed);
  }
  return Answer();
}

http::Response TusWriteSink::Answer() {
  if (upload_.offset == upload_.length) {
    if (absl::StatusOr<std::string> video = routes_.Complete(upload_); !video.ok()) {
      http::Response response = http::Response::Error(head_, video.status());
      routes_.AddUploadHeaders(upload_, response);
      return response;
    }
  }
  http::Response response = http::Response::Text(created_ ? 201 : 204, "");
  if (created_) response.headers.Set("Location", absl::StrCat("/api/uploads/", upload_.id));
  routes_.AddUploadHeaders(upload_, response);
  return response;
}

}  // namespace dvs::web
