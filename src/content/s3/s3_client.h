// S3Client: signed HTTP calls to one S3 bucket through libcurl, whose own
// AWS SigV4 signer (CURLOPT_AWS_SIGV4) signs every request. Each call sends
// x-amz-content-sha256 with the real SHA-256 of its body, so the store
// checks the bytes it got. Bodies stream from memory or from a slice of an
// open file; answers either come whole (small ones: XML, HEAD) or stream
// through a Stream, whose memory stays bounded however large the object: the
// transfer pauses while its buffer is full. Every call has a connect
// timeout; calls without a file body a total timeout; file transfers a stall
// timeout (too few bytes for too long).
//
// Thread-safe: many calls may run at once. Each one takes a curl handle (and
// the connections it keeps open) from a pool, and gives it back when done.
// A Stream is not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "content/s3/s3_location.h"

namespace dvs::content::s3 {

struct S3Credentials {
  std::string access_key;  // may hold ':' (Swift's "account:user")
  std::string secret_key;
  std::string region = "us-east-1";
};

struct S3ClientOptions {
  S3Location location;
  S3Credentials credentials;
  std::chrono::milliseconds connect_timeout{5000};
  // The whole of a call without a file body (list, HEAD, DELETE, small PUT).
  std::chrono::milliseconds request_timeout{30000};
  // A file transfer fails once under 1 KiB/s flowed for this long.
  std::chrono::seconds stall_timeout{20};
};

// What a request sends: bytes in memory, or `length` bytes of the open file
// `fd` from `offset`, with their SHA-256 (hex).
struct Body {
  std::string_view bytes;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string sha256;

  uint64_t size() const { return fd >= 0 ? length : bytes.size(); }
};

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST or DELETE
  std::string key;             // the object key; empty for the bucket itself
  QueryParams query;
  std::vector<std::string> headers;  // "Name: value"
  std::optional<Body> body;
  bool file_transfer = false;  // a stall timeout instead of a total one
  std::string what;            // names the call in errors, e.g. "GET v/g/a.m4s"
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // Call only

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_case_name) const;
};

// The body of a GET, chunk by chunk. Not thread-safe.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual const Response& response() const = 0;
  // Up to `max` bytes; 0 at the end. Unavailable when the transfer breaks.
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(char* buffer, size_t max) = 0;
};

struct Channel;  // a curl multi handle with one easy handle (s3_client.cc)

class S3Client {
 public:
  explicit S3Client(S3ClientOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Location& location() const { return options_.location; }

  // The whole answer, its body at most 16 MiB. An error for a transport
  // failure and for any HTTP status of 300 or more (ErrorFromResponse).
  [[nodiscard]] absl::StatusOr<Response> Call(const Request& request);
  // Returns once the answer's headers are in; its errors as for Call.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<Stream>> Open(const Request& request);

  // For Transfer (s3_client.cc): handles are borrowed and given back.
  std::unique_ptr<Channel> TakeChannel();
  void GiveBack(std::unique_ptr<Channel> channel);
  const S3ClientOptions& options() const { return options_; }

 private:
  const S3ClientOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Channel>> idle_;  // guarded by mutex_
};

}  // namespace dvs::content::s3
