// Resumable uploads with tus 1.0 at /api/uploads/ (https://tus.io): OPTIONS
// discovery, POST creation (with or without a first chunk), HEAD for the
// durable offset, PATCH chunks (checked with sha1 or sha256 when the client
// sends Upload-Checksum), DELETE termination, and GET for a JSON status.
// A finished upload becomes a video through AcceptVideo, exactly as a form
// upload does. An upload belongs to its creator: to anyone else it is 404.
// Uploads left unfinished for `expiry` after their last chunk are removed by
// a background sweep.
//
// Thread-safe: requests for one upload are serialised by TusStore leases
// (a second concurrent writer gets 423).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "access/policy.h"
#include "http/router.h"
#include "web/access_gate.h"
#include "web/tus_store.h"
#include "web/upload.h"

namespace dvs::web {

struct TusOptions {
  uint64_t max_size = 8ull << 30;                             // Tus-Max-Size; over it is 413
  std::chrono::milliseconds expiry = std::chrono::hours(24);  // --upload-expiry
};

class TusRoutes {
 public:
  // Uploads live under context.options.work_dir / "tus".
  TusRoutes(const UploadContext& context, AccessGate& gate, TusOptions options);
  ~TusRoutes();  // stops the sweep

  void Register(http::Router& router);

  // Makes a video of a complete upload (the caller holds its lease) and
  // records the outcome; the video on success.
  absl::StatusOr<std::string> Complete(TusUpload& upload);
  // Headers every tus answer for `upload` carries.
  void AddUploadHeaders(const TusUpload& upload, http::Response& response) const;
  TusStore& store() { return store_; }
  const TusOptions& options() const { return options_; }
  const UploadContext& context() const { return context_; }

 private:
  absl::StatusOr<std::unique_ptr<http::BodySink>> StartCreation(http::Request& request);
  absl::StatusOr<std::unique_ptr<http::BodySink>> StartPatch(http::Request& request);
  http::Response Options(http::Request& request);
  http::Response Status(http::Request& request);
  http::Response Terminate(http::Request& request);
  // The video a complete upload had become when the server stopped before it
  // saved that outcome; nullopt when it had not.
  std::optional<metadata::VideoMetadata> AcceptedBeforeACrash(const TusUpload& upload);
  // Who asks, allowed to upload; an error status otherwise.
  absl::StatusOr<access::Principal> Uploader(const http::Request& request);
  // The route's upload, when it is `who`'s (else NotFound).
  absl::StatusOr<TusUpload> OwnUpload(const http::Request& request, const access::Principal& who);
  void Sweep();

  const UploadContext& context_;
  AccessGate& gate_;
  const TusOptions options_;
  TusStore store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread sweeper_;
};

}  // namespace dvs::web
