#include "web/upload_wait.h"

#include <memory>
#include <optional>
#include <utility>

#include "web/file_index_store.h"
#include "web/video_json.h"

namespace dvs::web {
namespace {

// Thread-compatible: the server calls Poll one at a time.
class VideoSettlePoller final : public http::ResponsePoller {
 public:
  VideoSettlePoller(const UploadContext& context, const http::Request& head, std::string id)
      : context_(context),
        head_(head),
        id_(std::move(id)),
        deadline_(std::chrono::steady_clock::now() + context.options.upload_wait_limit) {}

  std::chrono::milliseconds interval() const override { return kUploadWaitPoll; }

  std::optional<http::Response> Poll(bool last) override {
    absl::StatusOr<metadata::VideoMetadata> meta = context_.metadata.Read(id_);
    if (!meta.ok()) return http::Response::Error(head_, meta.status());
    const bool settled = meta->state != metadata::VideoState::kProcessing;
    if (!settled && !last && std::chrono::steady_clock::now() < deadline_) return std::nullopt;
    return AcceptedVideoResponse(context_, head_, *meta, 200);
  }

 private:
  const UploadContext& context_;
  const http::Request head_;
  const std::string id_;
  const std::chrono::steady_clock::time_point deadline_;
};

}  // namespace

http::Response AcceptedVideoResponse(const UploadContext& context, const http::Request& head,
                                     const metadata::VideoMetadata& meta, int http_status) {
  double progress = meta.state == metadata::VideoState::kReady ? 1 : 0;
  // The files stored so far, as GET /api/videos/:id gives them.
  absl::StatusOr<FileIndexStore::Index> index = context.indexes.Read(meta);
  if (!index.ok()) return http::Response::Error(head, index.status());
  http::Response response =
      http::Response::Json(http_status, VideoJson(meta, progress, index->get()));
  response.headers.Set("Location", VideoPagePath(meta.id));
  return response;
}

http::Response WaitForVideo(const UploadContext& context, const http::Request& head,
                            std::string id) {
  http::Response response;
  response.pending = std::make_unique<VideoSettlePoller>(context, head, std::move(id));
  return response;
}

}  // namespace dvs::web
