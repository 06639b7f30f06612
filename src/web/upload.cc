#include "web/upload.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/posix_file.h"
#include "common/status.h"
#include "http/multipart.h"
#include "media/probe.h"
#include "spdlog/spdlog.h"
#include "web/upload_wait.h"
#include "web/video_json.h"
#include "web/visibility.h"
#include "web/web_metrics.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

// A file that receives an upload; removed on destruction unless moved away.
class SpoolFile {
 public:
  ~SpoolFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  absl::Status Open(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return common::FsError(ec, "cannot create", dir);
    std::string name = (dir / "upload-XXXXXX").string();
    int fd = ::mkstemp(name.data());
    if (fd < 0) return common::ErrnoError(errno, "cannot create an upload file in", dir);
    fd_ = common::UniqueFd(fd);
    path_ = name;
    return absl::OkStatus();
  }

  absl::Status Append(std::string_view data) { return common::WriteAll(fd_.get(), data, path_); }

  // Makes the bytes durable: once the client hears "accepted", a crash must
  // not lose the upload.
  absl::Status Close() { return fd_.SyncAndClose(path_); }

  absl::Status MoveTo(const fs::path& target) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return common::FsError(ec, "cannot create", target.parent_path());
    RETURN_IF_ERROR(common::RenameDurably(path_, target));
    path_.clear();
    return absl::OkStatus();
  }

  bool is_open() const { return fd_.valid(); }

 private:
  common::UniqueFd fd_;
  fs::path path_;
};

class UploadSink final : public http::BodySink {
 public:
  UploadSink(const UploadContext& context, UploadSlot slot, const http::Request& request,
             std::string boundary, std::string owner)
      : context_(context),
        slot_(std::move(slot)),
        owner_(std::move(owner)),
        wants_json_(request.WantsJson()),
        wait_(request.QueryParam("wait").value_or("0") == "1"),
        parser_(
            std::move(boundary),
            {.on_part_begin = [this](const http::PartHeaders& part) { return OnPartBegin(part); },
             .on_part_data = [this](std::string_view data) { return OnPartData(data); },
             .on_part_end = [this] { return OnPartEnd(); }}) {
    head_.path = request.path;
    visibility_ = request.QueryParam("visibility").value_or("public");
    head_.headers = request.headers;
  }

  absl::Status Consume(std::string_view chunk) override {
    UploadBytesCounter().Inc(static_cast<double>(chunk.size()));
    return parser_.Feed(chunk);
  }

  http::Response Finish() override {
    absl::StatusOr<metadata::VideoMetadata> meta = Accept();
    if (!meta.ok()) return http::Response::Error(head_, meta.status());
    if (wait_) return WaitForVideo(context_, head_, meta->id);
    if (wants_json_) return AcceptedVideoResponse(context_, head_, *meta, 202);
    return http::Response::Redirect(303, VideoPagePath(meta->id));
  }

 private:
  absl::Status OnPartBegin(const http::PartHeaders& part) {
    // The form's visibility field (before or after the file) overrides the query's.
    in_visibility_part_ = part.name == "visibility";
    if (in_visibility_part_) visibility_.clear();
    in_file_part_ = part.name == "file" && !filename_.has_value();
    if (!in_file_part_) return absl::OkStatus();
    if (!part.filename || part.filename->empty()) {
      return absl::InvalidArgumentError("the \"file\" field carries no file name");
    }
    RETURN_IF_ERROR(common::ValidateFileName(*part.filename));
    filename_ = *part.filename;
    return spool_.Open(context_.options.work_dir / "uploads");
  }

  absl::Status OnPartData(std::string_view data) {
    if (in_visibility_part_) {
      constexpr size_t kMaxVisibilityBytes = 16;
      if (visibility_.size() + data.size() > kMaxVisibilityBytes) {
        return absl::InvalidArgumentError("visibility must be public, unlisted or private");
      }
      visibility_.append(data);
    }
    return in_file_part_ ? spool_.Append(data) : absl::OkStatus();
  }

  absl::Status OnPartEnd() {
    if (!in_file_part_) return absl::OkStatus();
    in_file_part_ = false;
    return spool_.Close();
  }

  absl::StatusOr<metadata::VideoMetadata> Accept();

  const UploadContext& context_;
  UploadSlot slot_;
  const std::string owner_;
  http::Request head_;
  const bool wants_json_;
  const bool wait_;
  http::MultipartParser parser_;
  SpoolFile spool_;
  std::optional<std::string> filename_;
  bool in_file_part_ = false;
  std::string visibility_;  // as sent: the query's, then the form's
  bool in_visibility_part_ = false;
};

absl::StatusOr<metadata::VideoMetadata> UploadSink::Accept() {
  RETURN_IF_ERROR(parser_.Finish());
  if (!filename_ || spool_.is_open()) {
    return absl::InvalidArgumentError("the form has no \"file\" field with a video");
  }
  ASSIGN_OR_RETURN(metadata::Visibility visibility, ParseVisibility(visibility_));
  return AcceptVideo(context_, {.filename = *filename_, .visibility = visibility, .owner = owner_},
                     [this](const fs::path& target) { return spool_.MoveTo(target); });
}

}  // namespace

absl::StatusOr<metadata::VideoMetadata> AcceptVideo(
    const UploadContext& context, const UploadedFile& file,
    absl::FunctionRef<absl::Status(const std::filesystem::path&)> move_source) {
  ASSIGN_OR_RETURN(std::string id, common::SlugFromFilename(file.filename));
  metadata::VideoMetadata meta;
  meta.visibility = file.visibility;
  meta.id = id;
  meta.title = file.filename;
  meta.owner = file.owner;
  meta.uploaded_at_ms = context.options.now_ms();
  meta.updated_at_ms = meta.uploaded_at_ms;
  // A fresh folder for this upload's files: nothing of an earlier video of
  // the same id can be served as this one's, nor a job of it write here.
  meta.generation = metadata::NewGeneration();
  absl::StatusOr<int64_t> created = context.metadata.Create(meta);
  if (!created.ok()) {
    if (created.status().code() != absl::StatusCode::kAlreadyExists) return created.status();
    return absl::AlreadyExistsError(absl::StrCat(
        "a video with the id \"", id, "\" exists already; rename the file or delete that video"));
  }
  meta.revision = *created;
  VideoProcessor& processor = context.processor;
  fs::path source = processor.SourcePath(id);
  std::error_code ec;
  fs::remove_all(processor.JobDir(id), ec);
  absl::Status kept = move_source(source);
  absl::StatusOr<media::ProbeResult> probe =
      kept.ok() ? media::Probe(source, context.options.probe) : kept;
  if (!probe.ok()) {
    processor.Cancel(id);  // removes the job folder
    if (absl::Status deleted = context.metadata.Delete(id); !deleted.ok()) {
      spdlog::error("cannot remove the record of rejected upload {}: {}", id, deleted.message());
    }
    return probe.status();
  }
  meta.duration_s = probe->duration_s;
  meta.width = probe->display_width();
  meta.height = probe->display_height();
  ASSIGN_OR_RETURN(meta.revision, context.metadata.Update(meta));
  spdlog::info("accepted upload {} ({}x{}, {:.1f} s, {})", id, meta.width, meta.height,
               meta.duration_s, probe->video_codec);
  processor.Enqueue(meta, *probe);
  return meta;
}

absl::StatusOr<std::unique_ptr<http::BodySink>> MakeUploadSink(http::Request& request,
                                                               const UploadContext& context,
                                                               std::string owner) {
  std::optional<std::string_view> content_type = request.headers.Get("Content-Type");
  if (!content_type) {
    return absl::InvalidArgumentError(
        "an upload must be multipart/form-data with a \"file\" field");
  }
  ASSIGN_OR_RETURN(std::string boundary, http::MultipartBoundary(*content_type));
  // A bad ?visibility= is refused before the body is read.
  RETURN_IF_ERROR(ParseVisibility(request.QueryParam("visibility").value_or("public")).status());
  ASSIGN_OR_RETURN(UploadSlot slot, UploadSlot::Take(context));
  return std::make_unique<UploadSink>(context, std::move(slot), request, std::move(boundary),
                                      std::move(owner));
}

absl::StatusOr<UploadSlot> UploadSlot::Take(const UploadContext& context) {
  const int limit = context.options.max_concurrent_uploads;
  if (context.in_flight.fetch_add(1) >= limit) {
    --context.in_flight;
    return absl::ResourceExhaustedError(absl::StrCat("too many uploads at once (", limit,
                                                     " are being received); try again shortly"));
  }
  UploadsInFlightGauge().Add(1);
  return UploadSlot(context.in_flight);
}

void UploadSlot::Release() {
  if (in_flight_ == nullptr) return;
  --*in_flight_;
  UploadsInFlightGauge().Add(-1);
  in_flight_ = nullptr;
}

}  // namespace dvs::web
