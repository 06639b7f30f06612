// GET/HEAD /content/:id/:file — a file named in the video's current file
// index, with its Content-Type, Content-Length, ETag (its SHA-256), Range
// (206/416) and caching headers, streamed from the video's content folder.
// A name the index does not list is 404, whatever the folder holds.
// Served for /content/:id/:file and for the signed /play/... URLs alike; a
// guard decides who may have a video's files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "http/message.h"
#include "metadata/metadata_service.h"
#include "web/file_index_store.h"

namespace dvs::web {

std::string_view ContentTypeFor(std::string_view filename);

// --s3-redirect: files of public videos from `min_bytes` up are answered
// with a 307 to a URL of the store itself, which then sends the bytes.
// Private and unlisted videos are always served here.
struct ContentRedirect {
  uint64_t min_bytes = 256 << 10;
  // The URL of file `name` of content folder `folder`.
  std::function<absl::StatusOr<std::string>(std::string_view folder, std::string_view name)>
      url_for;
};

struct ContentStores {
  metadata::VideoMetadataService& metadata;
  FileIndexStore& indexes;
  content::VideoContentService& content;
  const ContentRedirect* redirect = nullptr;  // none when null
};

// OK when the asker may have the video's files, else the status to answer
// with (NoSuchVideo for a private video, PermissionDenied for a bad
// signature). An empty guard lets everyone have them.
using ContentGuard = std::function<absl::Status(const metadata::VideoMetadata& meta)>;

// The files of a private video are never kept by shared caches.
http::Response ServeContent(http::Request& request, std::string_view id, std::string_view file,
                            const ContentStores& stores, const ContentGuard& guard);

// The same answer when it can be given at once, for the I/O thread: the
// record and its index are in memory and the file in memory or a local
// folder (VideoContentService::ReadWithoutWaiting). nullopt otherwise, also
// when the guard (which must not block) refuses: the worker then answers.
std::optional<http::Response> ServeContentAtHand(http::Request& request, std::string_view id,
                                                 std::string_view file, const ContentStores& stores,
                                                 const ContentGuard& guard);

}  // namespace dvs::web
