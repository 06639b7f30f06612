// The request bodies of tus uploads: TusWriteSink appends one chunk to an
// upload's data file and moves its durable offset (fsync first), and
// DrainSink reads and drops the body of a refused request so that its
// answer (423, 409, 460 …) can be sent on a connection that stays usable.
// Each sink serves one request; not thread-safe (the server calls it from
// one thread at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "common/posix_file.h"
#include "http/message.h"
#include "web/tus_protocol.h"
#include "web/tus_store.h"
#include "web/upload.h"

namespace dvs::web {

class TusRoutes;

class DrainSink final : public http::BodySink {
 public:
  explicit DrainSink(http::Response response) : response_(std::move(response)) {}
  absl::Status Consume(std::string_view) override { return absl::OkStatus(); }
  http::Response Finish() override { return std::move(response_); }

 private:
  http::Response response_;
};

class TusWriteSink final : public http::BodySink {
 public:
  // `upload` is read under `lease`; the chunk starts at upload.offset.
  // `created`: the answer to a creation (201 with Location), else 204.
  // `slot`: the chunk's place among the uploads received at once.
  static absl::StatusOr<std::unique_ptr<TusWriteSink>> Open(
      TusRoutes& routes, const http::Request& request, UploadSlot slot, TusStore::Lease lease,
      TusUpload upload, std::optional<tus::Checksum> checksum, bool created);
  // A chunk cut short (the connection broke) keeps the bytes that arrived,
  // made durable first, unless it carried a checksum that can no longer be
  // checked.
  ~TusWriteSink() override;

  absl::Status Consume(std::string_view chunk) override;
  http::Response Finish() override;

 private:
  TusWriteSink(TusRoutes& routes, const http::Request& request, UploadSlot slot,
               TusStore::Lease lease, TusUpload upload, std::optional<tus::Checksum> checksum,
               bool created);
  // Syncs the bytes written and saves the offset after them.
  absl::Status Commit();
  http::Response Answer();

  TusRoutes& routes_;
  http::Request head_;  // method, path and headers: for error answers
  UploadSlot slot_;
  TusStore::Lease lease_;
  TusUpload upload_;
  const uint64_t start_;
  uint64_t written_ = 0;
  common::UniqueFd fd_;
  std::optional<tus::Checksum> checksum_;
  std::unique_ptr<tus::ChunkDigest> digest_;
  const bool created_;
  bool settled_ = false;  // answered or refused: nothing to keep on destruction
};

}  // namespace dvs::web
