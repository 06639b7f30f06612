#include "content/s3/s3_upload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/posix_file.h"
#include "common/sha256.h"
#include "common/status.h"
#include "content/s3/s3_protocol.h"

namespace dvs::content::s3 {
namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr uint64_t kMaxParts = 1000;
constexpr uint64_t kMiB = 1ull << 20;

// The SHA-256 of `length` bytes of `fd` from `offset`.
absl::StatusOr<std::string> HashSlice(int fd, uint64_t offset, uint64_t length,
                                      const std::filesystem::path& path) {
  common::Sha256 hash;
  std::vector<char> buffer(256 << 10);
  for (uint64_t done = 0; done < length;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - done));
    ssize_t got = pread(fd, buffer.data(), want, static_cast<off_t>(offset + done));
    if (got < 0) return common::ErrnoError(errno, "cannot read", path);
    if (got == 0) return absl::DataLossError(absl::StrCat(path.string(), " shrank while read"));
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(got)));
    done += static_cast<uint64_t>(got);
  }
  return hash.FinalHex();
}

absl::Status PutOnce(S3Client& client, const std::string& key, const Body& body,
                     const std::string& file_sha256, const UploadOptions& options) {
  Request request{.method = "PUT",
                  .key = key,
                  .headers = {absl::StrCat(kSha256MetaHeader, ": ", file_sha256)},
                  .body = body,
                  .file_transfer = body.fd >= 0,
                  .what = absl::StrCat("PUT ", key)};
  return WithRetries(options.attempts, options.retry_delay,
                     [&] { return client.Call(request).status(); });
}

absl::StatusOr<std::string> CreateUpload(S3Client& client, const std::string& key,
                                         const std::string& file_sha256) {
  Request request{.method = "POST",
                  .key = key,
                  .query = {{"uploads", ""}},
                  .headers = {absl::StrCat(kSha256MetaHeader, ": ", file_sha256)},
                  .what = absl::StrCat("start of the multipart upload of ", key)};
  ASSIGN_OR_RETURN(Response response, client.Call(request));
  std::optional<std::string> upload_id = XmlText(response.body, "UploadId");
  if (!upload_id.has_value() || upload_id->empty()) {
    return absl::InternalError(absl::StrCat(request.what, ": no UploadId in the answer"));
  }
  return *upload_id;
}

// Sends the parts and completes the upload.
absl::Status SendParts(S3Client& client, const std::string& key, const std::string& upload_id,
                       int fd, uint64_t size, const std::filesystem::path& source,
                       const UploadOptions& options) {
  const uint64_t part_size = PartSizeFor(size, options);
  std::vector<std::string> etags;
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    uint64_t length = std::min(part_size, size - offset);
    ASSIGN_OR_RETURN(std::string part_sha256, HashSlice(fd, offset, length, source));
    Request request{
        .method = "PUT",
        .key = key,
        .query = {{"partNumber", absl::StrCat(etags.size() + 1)}, {"uploadId", upload_id}},
        .body = Body{.fd = fd, .offset = offset, .length = length, .sha256 = part_sha256},
        .file_transfer = true,
        .what = absl::StrCat("PUT of part ", etags.size() + 1, " of ", key)};
    std::string etag;
    RETURN_IF_ERROR(WithRetries(options.attempts, options.retry_delay, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(Response response, client.Call(request));
      etag = response.Header("etag");
      return absl::OkStatus();
    }));
    if (etag.empty()) return absl::InternalError(absl::StrCat(request.what, ": no ETag"));
    etags.push_back(std::move(etag));
  }
  std::string xml = CompleteMultipartBody(etags);
  Request complete{.method = "POST",
                   .key = key,
                   .query = {{"uploadId", upload_id}},
                   .headers = {"Content-Type: application/xml"},
                   .body = Body{.bytes = xml, .sha256 = common::Sha256Hex(xml)},
                   .what = absl::StrCat("completion of the multipart upload of ", key)};
  ASSIGN_OR_RETURN(Response response, client.Call(complete));
  // The store may answer 200 and still fail, with an <Error> body.
  if (response.body.find("<Error>") != std::string::npos) {
    return ErrorFromResponse(500, response.body, complete.what);
  }
  return absl::OkStatus();
}

absl::Status PutMultipart(S3Client& client, const std::string& key, int fd, uint64_t size,
                          const std::string& file_sha256, const std::filesystem::path& source,
                          const UploadOptions& options) {
  std::string upload_id;
  RETURN_IF_ERROR(WithRetries(options.attempts, options.retry_delay, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(upload_id, CreateUpload(client, key, file_sha256));
    return absl::OkStatus();
  }));
  absl::Status sent = SendParts(client, key, upload_id, fd, size, source, options);
  if (!sent.ok()) {
    // Best effort: the parts of an unfinished upload take space until aborted.
    Request abort{.method = "DELETE",
                  .key = key,
                  .query = {{"uploadId", upload_id}},
                  .what = absl::StrCat("abort of the multipart upload of ", key)};
    (void)client.Call(abort);
  }
  return sent;
}

}  // namespace

uint64_t PartSizeFor(uint64_t size, const UploadOptions& options) {
  uint64_t part = std::max(options.part_size, kMinPartSize);
  uint64_t needed = (size + kMaxParts - 1) / kMaxParts;
  if (needed > part) part = (needed + kMiB - 1) / kMiB * kMiB;
  return part;
}

absl::Status WithRetries(int attempts, std::chrono::milliseconds delay,
                         const std::function<absl::Status()>& call) {
  for (int attempt = 1;; ++attempt) {
    absl::Status status = call();
    if (status.ok() || !absl::IsUnavailable(status) || attempt >= attempts) return status;
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

absl::Status PutBytes(S3Client& client, const std::string& key, std::string_view bytes,
                      const UploadOptions& options) {
  std::string sha256 = common::Sha256Hex(bytes);
  return PutOnce(client, key, Body{.bytes = bytes, .sha256 = sha256}, sha256, options);
}

absl::Status PutFile(S3Client& client, const std::string& key, const std::filesystem::path& source,
                     const UploadOptions& options) {
  common::UniqueFd fd(open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return common::ErrnoError(errno, "cannot open", source);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) return common::ErrnoError(errno, "cannot stat", source);
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(source.string(), " is not a readable file"));
  }
  auto size = static_cast<uint64_t>(info.st_size);
  ASSIGN_OR_RETURN(std::string sha256, HashSlice(fd.get(), 0, size, source));
  if (size <= options.multipart_threshold) {
    Body body{.fd = fd.get(), .offset = 0, .length = size, .sha256 = sha256};
    return PutOnce(client, key, body, sha256, options);
  }
  return PutMultipart(client, key, fd.get(), size, sha256, source, options);
}

}  // namespace dvs::content::s3
