// HTTP requests and responses as the web app sees them, free of Beast: the
// server (server.cc) converts at the edge. Plain values; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::http {

// Header fields with case-insensitive names, in the order added.
class Headers {
 public:
  void Add(std::string name, std::string value);
  void Set(std::string name, std::string value);  // replaces every field of that name
  std::optional<std::string_view> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;  // "GET", "HEAD", "POST" …
  std::string target;  // as sent: path and query
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // after '?', still encoded
  Headers headers;
  std::string body;                 // for routes that are not streaming; bounded by the server
  std::vector<std::string> params;  // percent-decoded ":name" segments matched by the router
  std::string remote_address;
  // Set by the server: the pattern of the route that matched ("/videos/:id";
  // empty when none did), and when the request head was read.
  std::string_view route;
  std::chrono::steady_clock::time_point received_at;

  // The decoded value of a query parameter, or nullopt.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // True when the client prefers JSON (an /api/ path or Accept: application/json).
  bool WantsJson() const;
};

// `length` bytes from `offset` of the open file `fd`.
struct FileRegion {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// The bytes of a response body produced while it is sent (a file, a stream
// from a storage server). Read is called on a worker thread, never two at once.
class BodySource {
 public:
  virtual ~BodySource() = default;
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(char* buffer, size_t max) = 0;
  // The whole body when it is in memory already (valid while the source
  // lives): the server then writes it straight from there on its I/O thread,
  // never calls Read, and destroys the source there too, so such a source
  // must be cheap to destroy.
  virtual std::optional<std::string_view> InMemory() const { return std::nullopt; }
  // The whole body as a region of a file the source keeps open: the server
  // then sends it with sendfile(2) from its I/O thread (the kernel copies
  // straight from the page cache), never calls Read, and destroys the source
  // there too (closing a file is cheap).
  virtual std::optional<FileRegion> InFile() const { return std::nullopt; }
};

struct Response;

// A response that is not known yet (POST /upload?wait=1 until its video is
// processed). The server keeps the connection without keeping a thread:
// between calls to Poll it waits on a timer of the connection's I/O strand,
// and each Poll runs briefly on a worker thread. Poll is never called twice
// at once.
class ResponsePoller {
 public:
  virtual ~ResponsePoller() = default;
  // How long to wait before the next call to Poll.
  virtual std::chrono::milliseconds interval() const = 0;
  // The response when it is known, else nullopt to be asked again. With
  // `last` (the server is stopping) it must answer with what it knows.
  virtual std::optional<Response> Poll(bool last) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                    // used when `source` is null
  std::unique_ptr<BodySource> source;  // exactly `source_length` bytes
  uint64_t source_length = 0;
  // Set: the response is not known yet and the fields above are unused; the
  // server polls this until it yields one (see ResponsePoller).
  std::unique_ptr<ResponsePoller> pending;

  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response Html(int status, std::string html);
  static Response Json(int status, std::string json);
  static Response Redirect(int status, std::string location);
  // The error as JSON {"error": …} for API clients, a short page for browsers,
  // with the HTTP status mapped from the code (common::HttpStatusFor).
  static Response Error(const Request& request, const absl::Status& status);
};

// The body of a streaming route (an upload), fed as it arrives. Consume and
// Finish are called on worker threads, one at a time, in order.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // An error stops the upload: the client gets Response::Error(status) and the
  // connection is closed.
  [[nodiscard]] virtual absl::Status Consume(std::string_view chunk) = 0;
  // The whole body has arrived.
  virtual Response Finish() = 0;
};

// Response::Error for an HTTP status that no status code maps to (405, 413,
// 431 …): the same JSON or HTML shape.
Response ErrorResponse(const Request& request, int http_status, std::string_view message);

std::string PercentDecode(std::string_view text, bool plus_is_space = false);
std::string HtmlEscape(std::string_view text);

}  // namespace dvs::http
