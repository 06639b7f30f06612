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
#include "web/visibility.h"

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
  std::optional<std::string_view> InMemory() const override { return reader_->InMemory(); }
  std::optional<http::FileRegion> InFile() const override {
    std::optional<content::FileRegion> region = reader_->InFile();
    if (!region) return std::nullopt;
    return http::FileRegion{region->fd, region->offset, region->length};
  }

 private:
  std::unique_ptr<content::ContentReader> reader_;
};

// A range of a whole file whose reader has its bytes at hand (in memory or
// in a local file); the server sends them from there.
class RangeBody final : public http::BodySource {
 public:
  RangeBody(std::unique_ptr<content::ContentReader> whole, content::ByteRange range)
      : whole_(std::move(whole)), range_(range) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    return absl::InternalError("a body at hand is not read");
  }
  std::optional<std::string_view> InMemory() const override {
    std::optional<std::string_view> bytes = whole_->InMemory();
    if (!bytes) return std::nullopt;
    return bytes->substr(range_.offset, range_.length);
  }
  std::optional<http::FileRegion> InFile() const override {
    std::optional<content::FileRegion> file = whole_->InFile();
    if (!file) return std::nullopt;
    return http::FileRegion{file->fd, file->offset + range_.offset, range_.length};
  }

 private:
  const std::unique_ptr<content::ContentReader> whole_;
  const content::ByteRange range_;
};

// Segments never change once written; manifests and playlists may (a quick
// first rendition is replaced by the full ladder), so clients revalidate them.
// A private video's files are for one browser's cache only.
std::string_view CacheControlFor(std::string_view filename, bool shared) {
  if (absl::EndsWith(AsAbsl(filename), ".m4s")) {
    return shared ? "public, max-age=31536000, immutable" : "private, max-age=31536000, immutable";
  }
  return "no-cache";
}

bool ETagMatches(std::optional<std::string_view> if_none_match, std::string_view etag) {
  return if_none_match &&
         (*if_none_match == "*" || absl::StrContains(AsAbsl(*if_none_match), AsAbsl(etag)));
}

// The answer to a content request up to its body: headers, ETag, and 304,
// 206 or 416 as the request asks. `range` is the part of the file to send;
// `complete` when the answer has no body to add (304, 416).
struct Answer {
  http::Response response;
  std::optional<content::ByteRange> range;
  bool complete = false;
};

Answer StartAnswer(const http::Request& request, const metadata::VideoMetadata& meta,
                   std::string_view file, const metadata::StoredFile* stored,
                   const content::ContentInfo& info) {
  Answer answer;
  http::Response& response = answer.response;
  response.headers.Set("Content-Type", std::string(ContentTypeFor(file)));
  response.headers.Set("Accept-Ranges", "bytes");
  response.headers.Set(
      "Cache-Control",
      std::string(CacheControlFor(file, meta.visibility != metadata::Visibility::kPrivate)));
  // The ETag only when the content served is the recorded one (a local
  // folder cannot tell its hash cheaply; the size must then agree).
  if (stored != nullptr && stored->size == info.size &&
      (info.sha256.empty() || info.sha256 == stored->sha256)) {
    std::string etag = absl::StrCat("\"", stored->sha256, "\"");
    response.headers.Set("ETag", etag);
    if (ETagMatches(request.headers.Get("If-None-Match"), etag)) {
      response.status = 304;
      answer.complete = true;
      return answer;
    }
  }
  absl::StatusOr<std::optional<http::ResolvedRange>> range =
      http::ResolveRange(request.headers.Get("Range"), info.size);
  if (!range.ok()) {
    answer.response = http::ErrorResponse(request, 416, common::AsStd(range.status().message()));
    answer.response.headers.Set("Content-Range", absl::StrCat("bytes */", info.size));
    answer.complete = true;
    return answer;
  }
  if (*range) {
    answer.range = content::ByteRange{(*range)->offset, (*range)->length};
    response.status = 206;
    response.headers.Set("Content-Range", http::ContentRangeValue(**range, info.size));
  }
  return answer;
}

bool ValidNames(std::string_view id, std::string_view file) {
  return common::ValidateName(id, "video id").ok() && common::ValidateName(file, "file name").ok();
}

absl::Status NoSuchFile(std::string_view id, std::string_view file) {
  return absl::NotFoundError(
      absl::StrCat("video \"", AsAbsl(id), "\" has no file \"", AsAbsl(file), "\""));
}

// The 307 to the store's own URL of the file, when --s3-redirect applies.
std::optional<http::Response> RedirectFor(http::Request& request,
                                          const metadata::VideoMetadata& meta,
                                          const metadata::StoredFile& stored,
                                          const ContentStores& stores) {
  const ContentRedirect* redirect = stores.redirect;
  if (redirect == nullptr || meta.visibility != metadata::Visibility::kPublic ||
      stored.size < redirect->min_bytes) {
    return std::nullopt;
  }
  absl::StatusOr<std::string> url = redirect->url_for(meta.ContentFolder(), stored.name);
  if (!url.ok()) return http::Response::Error(request, url.status());
  http::Response response = http::Response::Redirect(307, *std::move(url));
  // The URL expires: caches may not keep the redirect.
  response.headers.Set("Cache-Control", "no-store");
  return response;
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

http::Response ServeContent(http::Request& request, std::string_view id, std::string_view file,
                            const ContentStores& stores, const ContentGuard& guard) {
  for (absl::Status valid :
       {common::ValidateName(id, "video id"), common::ValidateName(file, "file name")}) {
    if (!valid.ok()) return http::Response::Error(request, valid);
  }
  // Memory first: with etcd every record is there, kept by the watch.
  std::shared_ptr<const metadata::VideoMetadata> meta = stores.metadata.ReadFromMemory(id);
  if (meta == nullptr) {
    absl::StatusOr<metadata::VideoMetadata> read = stores.metadata.Read(id);
    // A missing video is answered as a hidden one is.
    if (absl::IsNotFound(read.status())) return http::Response::Error(request, NoSuchVideo(id));
    if (!read.ok()) return http::Response::Error(request, read.status());
    meta = std::make_shared<const metadata::VideoMetadata>(std::move(*read));
  }
  if (guard) {
    if (absl::Status allowed = guard(*meta); !allowed.ok()) {
      return http::Response::Error(request, allowed);
    }
  }
  absl::StatusOr<FileIndexStore::Index> index = stores.indexes.Read(*meta);
  if (!index.ok()) return http::Response::Error(request, index.status());
  const metadata::StoredFile* stored = (*index)->Find(file);
  if (stored == nullptr) return http::Response::Error(request, NoSuchFile(id, file));
  if (std::optional<http::Response> moved = RedirectFor(request, *meta, *stored, stores)) {
    return std::move(*moved);
  }
  // The recorded SHA-256 lets a cluster pass over a copy that is stale.
  const std::string folder = meta->ContentFolder();
  absl::StatusOr<content::ContentInfo> info = stores.content.Stat(folder, file, stored->sha256);
  if (!info.ok()) return http::Response::Error(request, info.status());
  Answer answer = StartAnswer(request, *meta, file, stored, *info);
  if (answer.complete) return std::move(answer.response);
  absl::StatusOr<std::unique_ptr<content::ContentReader>> reader =
      stores.content.Read(folder, file, answer.range, stored->sha256);
  if (!reader.ok()) return http::Response::Error(request, reader.status());
  answer.response.source_length = (*reader)->size();
  answer.response.source = std::make_unique<ContentBody>(std::move(*reader));
  return std::move(answer.response);
}

std::optional<http::Response> ServeContentAtHand(http::Request& request, std::string_view id,
                                                 std::string_view file, const ContentStores& stores,
                                                 const ContentGuard& guard) {
  if (!ValidNames(id, file)) return std::nullopt;  // the worker answers with the reason
  std::shared_ptr<const metadata::VideoMetadata> meta = stores.metadata.ReadFromMemory(id);
  if (meta == nullptr) return std::nullopt;
  if (guard && !guard(*meta).ok()) return std::nullopt;
  FileIndexStore::Index index = stores.indexes.ReadFromMemory(*meta);
  if (index == nullptr) return std::nullopt;
  const metadata::StoredFile* stored = index->Find(file);
  if (stored == nullptr) return std::nullopt;
  if (std::optional<http::Response> moved = RedirectFor(request, *meta, *stored, stores)) {
    return moved;  // signing is quick: no call to the store
  }
  std::unique_ptr<content::ContentReader> whole =
      stores.content.ReadWithoutWaiting(meta->ContentFolder(), file, stored->sha256);
  if (whole == nullptr) return std::nullopt;
  // Bytes in memory were checked against the hash; a local file's were not.
  bool in_memory = whole->InMemory().has_value();
  if (!in_memory && !whole->InFile()) return std::nullopt;
  content::ContentInfo info{whole->size(), in_memory ? stored->sha256 : ""};
  Answer answer = StartAnswer(request, *meta, file, stored, info);
  if (answer.complete) return std::move(answer.response);
  content::ByteRange range = answer.range.value_or(content::ByteRange{0, info.size});
  answer.response.source_length = range.length;
  answer.response.source = std::make_unique<RangeBody>(std::move(whole), range);
  return std::move(answer.response);
}

}  // namespace dvs::web
