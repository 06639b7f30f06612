#include "content/s3/s3_content_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/s3/s3_presign.h"
#include "content/s3/s3_protocol.h"

namespace dvs::content {
namespace {

constexpr int kListPageSize = 1000;

// Streams one GET's body; for a whole file also checks it hashes to `sha256`.
class S3Reader final : public ContentReader {
 public:
  S3Reader(std::unique_ptr<s3::Stream> stream, std::string key, uint64_t size, std::string sha256)
      : stream_(std::move(stream)), key_(std::move(key)), size_(size), sha256_(std::move(sha256)) {}

  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    if (max == 0) return 0;
    if (done_ == size_) return Finish();
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, size_ - done_));
    ASSIGN_OR_RETURN(size_t got, stream_->Read(buffer, want));
    if (got == 0) {
      return absl::UnavailableError(
          absl::StrCat("the S3 store ended ", key_, " after ", done_, " of ", size_, " bytes"));
    }
    if (!sha256_.empty()) hash_.Update(std::string_view(buffer, got));
    done_ += got;
    if (done_ == size_ && !sha256_.empty()) RETURN_IF_ERROR(Finish().status());
    return got;
  }

 private:
  absl::StatusOr<size_t> Finish() {
    if (sha256_.empty() || checked_) return 0;
    checked_ = true;
    std::string got = hash_.FinalHex();
    if (got != sha256_) {
      return absl::DataLossError(absl::StrCat("the S3 object ", key_, " has sha256 ", got,
                                              ", not the recorded ", sha256_));
    }
    return 0;
  }

  std::unique_ptr<s3::Stream> stream_;
  const std::string key_;
  const uint64_t size_;
  const std::string sha256_;  // "" for a range: not checked
  common::Sha256 hash_;
  uint64_t done_ = 0;
  bool checked_ = false;
};

class EmptyReader final : public ContentReader {
 public:
  uint64_t size() const override { return 0; }
  absl::StatusOr<size_t> Read(char*, size_t) override { return 0; }
  std::optional<std::string_view> InMemory() const override { return std::string_view(); }
};

absl::StatusOr<uint64_t> ContentLength(const s3::Response& response, const std::string& what) {
  uint64_t size = 0;
  if (!absl::SimpleAtoi(response.Header("content-length"), &size)) {
    return absl::InternalError(absl::StrCat(what, ": no Content-Length in the answer"));
  }
  return size;
}

}  // namespace

S3ContentService::S3ContentService(S3ContentOptions options)
    : options_(std::move(options)), client_(options_.client) {}

absl::StatusOr<std::unique_ptr<S3ContentService>> S3ContentService::Open(S3ContentOptions options) {
  std::unique_ptr<S3ContentService> service(new S3ContentService(std::move(options)));
  RETURN_IF_ERROR(service->CheckHealth());
  return service;
}

absl::StatusOr<std::string> S3ContentService::KeyFor(std::string_view video_id,
                                                     std::string_view filename) const {
  RETURN_IF_ERROR(common::ValidateFolder(video_id));
  RETURN_IF_ERROR(common::ValidateName(filename, "file name"));
  return client_.location().KeyOf(video_id, filename);
}

absl::Status S3ContentService::Write(std::string_view video_id, std::string_view filename,
                                     std::string_view bytes) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  return s3::PutBytes(client_, key, bytes, options_.upload);
}

absl::Status S3ContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                         const std::filesystem::path& source) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  return s3::PutFile(client_, key, source, options_.upload);
}

absl::Status S3ContentService::CheckRecordedHash(const s3::Response& response,
                                                 const std::string& key,
                                                 std::string_view expected_sha256) {
  std::string recorded = response.Header(s3::kSha256MetaHeader);
  if (expected_sha256.empty() || recorded.empty() || recorded == expected_sha256) {
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat("the S3 object ", key, " has sha256 ", recorded,
                                          ", not the expected ", common::AsAbsl(expected_sha256)));
}

absl::StatusOr<std::unique_ptr<ContentReader>> S3ContentService::Read(
    std::string_view video_id, std::string_view filename, std::optional<ByteRange> range,
    std::string_view expected_sha256) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  if (range.has_value() && range->length == 0) {
    ASSIGN_OR_RETURN(ContentInfo info, Stat(video_id, filename, expected_sha256));
    if (range->offset > info.size) {
      return absl::OutOfRangeError(absl::StrCat("offset ", range->offset, " lies past the end of ",
                                                key, " (", info.size, " bytes)"));
    }
    return std::make_unique<EmptyReader>();
  }
  s3::Request request{.key = key, .file_transfer = true, .what = absl::StrCat("GET ", key)};
  if (range.has_value()) {
    if (range->length > UINT64_MAX - range->offset) {
      return absl::OutOfRangeError(
          absl::StrCat("bytes ", range->offset, "+", range->length, " lie past the end of ", key));
    }
    request.headers.push_back(
        absl::StrCat("Range: bytes=", range->offset, "-", range->offset + range->length - 1));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<s3::Stream> stream, client_.Open(request));
  RETURN_IF_ERROR(CheckRecordedHash(stream->response(), key, expected_sha256));
  ASSIGN_OR_RETURN(uint64_t size, ContentLength(stream->response(), request.what));
  if (range.has_value() && size != range->length) {  // S3 cuts a range at the end
    return absl::OutOfRangeError(
        absl::StrCat("bytes ", range->offset, "+", range->length, " lie past the end of ", key));
  }
  std::string check;
  if (!range.has_value()) {
    check = expected_sha256.empty() ? stream->response().Header(s3::kSha256MetaHeader)
                                    : std::string(expected_sha256);
  }
  return std::make_unique<S3Reader>(std::move(stream), std::move(key), size, std::move(check));
}

absl::StatusOr<ContentInfo> S3ContentService::Stat(std::string_view video_id,
                                                   std::string_view filename,
                                                   std::string_view expected_sha256) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  s3::Request request{.method = "HEAD", .key = key, .what = absl::StrCat("HEAD ", key)};
  ASSIGN_OR_RETURN(s3::Response response, client_.Call(request));
  RETURN_IF_ERROR(CheckRecordedHash(response, key, expected_sha256));
  ASSIGN_OR_RETURN(uint64_t size, ContentLength(response, request.what));
  return ContentInfo{size, response.Header(s3::kSha256MetaHeader)};
}

absl::StatusOr<std::vector<std::string>> S3ContentService::ListKeys(const std::string& prefix) {
  std::vector<std::string> keys;
  std::optional<std::string> token;
  do {
    s3::Request request{.query = {{"list-type", "2"},
                                  {"prefix", prefix},
                                  {"delimiter", "/"},
                                  {"max-keys", absl::StrCat(kListPageSize)}},
                        .what = absl::StrCat("list of ", prefix)};
    if (token.has_value()) request.query.emplace_back("continuation-token", *token);
    ASSIGN_OR_RETURN(s3::Response response, client_.Call(request));
    ASSIGN_OR_RETURN(s3::ListPage page, s3::ParseListPage(response.body));
    for (std::string& key : page.keys) {
      if (key.starts_with(prefix) && key.find('/', prefix.size()) == std::string::npos) {
        keys.push_back(std::move(key));
      }
    }
    token = std::move(page.next_token);
  } while (token.has_value());
  return keys;
}

absl::StatusOr<std::vector<std::string>> S3ContentService::List(std::string_view video_id) {
  RETURN_IF_ERROR(common::ValidateFolder(video_id));
  std::string prefix = client_.location().FolderPrefix(video_id);
  ASSIGN_OR_RETURN(std::vector<std::string> keys, ListKeys(prefix));
  std::vector<std::string> names;
  for (const std::string& key : keys) names.push_back(key.substr(prefix.size()));
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status S3ContentService::Delete(std::string_view video_id) {
  RETURN_IF_ERROR(common::ValidateFolder(video_id));
  ASSIGN_OR_RETURN(std::vector<std::string> keys,
                   ListKeys(client_.location().FolderPrefix(video_id)));
  for (const std::string& key : keys) {
    s3::Request request{.method = "DELETE", .key = key, .what = absl::StrCat("DELETE ", key)};
    absl::Status deleted = s3::WithRetries(options_.upload.attempts, options_.upload.retry_delay,
                                           [&] { return client_.Call(request).status(); });
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> S3ContentService::PresignedUrl(std::string_view video_id,
                                                           std::string_view filename,
                                                           std::chrono::seconds expires) const {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  return s3::PresignGet(s3::TargetOf(client_.location(), key), options_.client.credentials,
                        std::chrono::system_clock::now(), expires)
      .url;
}

absl::Status S3ContentService::CheckHealth() {
  s3::Request request{
      .query = {{"list-type", "2"}, {"prefix", client_.location().prefix}, {"max-keys", "1"}},
      .what = absl::StrCat("S3 store ", client_.location().Describe())};
  return client_.Call(request).status();
}

}  // namespace dvs::content
