#include "web/content_route.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/strings.h"
#include "http/range.h"

namespace dvs::web {
namespace {

using common::AsAbsl;

class ContentBody final : public http::BodySource {
 public:
  explicit ContentBody(std::unique_ptr<content::ContentReader> reader)
      : reader_(std::move(reader)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    return reader_->Read(buffer, max);
  }

 private:
  std::unique_ptr<content::ContentReader> reader_;
};

// Segments never change once written; manifests and playlists may (a quick
// first rendition is replaced by the full ladder), so clients revalidate them.
std::string_view CacheControlFor(std::string_view filename) {
  if (absl::EndsWith(AsAbsl(filename), ".m4s")) return "public, max-age=31536000, immutable";
  return "no-cache";
}

bool ETagMatches(std::optional<std::string_view> if_none_match, std::string_view etag) {
  return if_none_match &&
         (*if_none_match == "*" || absl::StrContains(AsAbsl(*if_none_match), AsAbsl(etag)));
}

}  // namespace

std::string_view ContentTypeFor(std::string_view filename) {
  absl::string_view name = AsAbsl(filename);
  if (absl::EndsWith(name, ".mpd")) return "application/dash+xml";
  if (absl::EndsWith(name, ".m3u8")) return "application/vnd.apple.mpegurl";
  if (absl::EndsWith(name, ".m4s")) return "video/iso.segment";
  if (absl::EndsWith(name, ".mp4")) return "video/mp4";
  if (absl::EndsWith(name, ".jpg")) return "image/jpeg";
  return "application/octet-stream";
}

http::Response ServeContent(http::Request& request, metadata::VideoMetadataService& metadata,
                            content::VideoContentService& content) {
  const std::string& id = request.params.at(0);
  const std::string& file = request.params.at(1);
  for (absl::Status valid :
       {common::ValidateName(id, "video id"), common::ValidateName(file, "file name")}) {
    if (!valid.ok()) return http::Response::Error(request, valid);
  }
  absl::StatusOr<metadata::VideoMetadata> meta = metadata.Read(id);
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  // The recorded SHA-256 lets a cluster pass over a copy that missed an
  // overwrite (the manifest is replaced when the ladder is done).
  const metadata::StoredFile* stored = meta->FindFile(file);
  const std::string expected_sha256 = stored != nullptr ? stored->sha256 : "";
  absl::StatusOr<content::ContentInfo> info = content.Stat(id, file, expected_sha256);
  if (!info.ok()) return http::Response::Error(request, info.status());

  http::Response response;
  response.headers.Set("Content-Type", std::string(ContentTypeFor(file)));
  response.headers.Set("Accept-Ranges", "bytes");
  response.headers.Set("Cache-Control", std::string(CacheControlFor(file)));
  // The ETag only when the content served is the recorded one (a local
  // folder cannot tell its hash cheaply; the size must then agree).
  if (stored != nullptr && stored->size == info->size &&
      (info->sha256.empty() || info->sha256 == stored->sha256)) {
    std::string etag = absl::StrCat("\"", stored->sha256, "\"");
    response.headers.Set("ETag", etag);
    if (ETagMatches(request.headers.Get("If-None-Match"), etag)) {
      response.status = 304;
      return response;
    }
  }
  absl::StatusOr<std::optional<http::ResolvedRange>> range =
      http::ResolveRange(request.headers.Get("Range"), info->size);
  if (!range.ok()) {
    http::Response error =
        http::ErrorResponse(request, 416, common::AsStd(range.status().message()));
    error.headers.Set("Content-Range", absl::StrCat("bytes */", info->size));
    return error;
  }
  std::optional<content::ByteRange> byte_range;
  if (*range) {
    byte_range = content::ByteRange{(*range)->offset, (*range)->length};
    response.status = 206;
    response.headers.Set("Content-Range", http::ContentRangeValue(**range, info->size));
  }
  absl::StatusOr<std::unique_ptr<content::ContentReader>> reader =
      content.Read(id, file, byte_range, expected_sha256);
  if (!reader.ok()) return http::Response::Error(request, reader.status());
  response.source_length = (*reader)->size();
  response.source = std::make_unique<ContentBody>(std::move(*reader));
  return response;
}

}  // namespace dvs::web
