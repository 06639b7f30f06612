#include "http/response_writer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "http/text.h"

namespace dvs::http::internal {
namespace {

namespace http = beast::http;

constexpr size_t kSourceChunkSize = 256 << 10;

// The server owns framing and these fields; a handler's own values are replaced.
bool IsFramingField(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
         EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Server") ||
         EqualsIgnoreCase(name, "Date");
}

// CR, LF or NUL in a field would let a value smuggle in headers of its own.
bool IsSafeField(std::string_view name, std::string_view value) {
  auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  return !name.empty() && std::none_of(name.begin(), name.end(), bad) &&
         std::none_of(value.begin(), value.end(), bad);
}

// The Date field's value, made once a second per thread.
std::string_view HttpDate() {
  thread_local std::time_t made_at = -1;
  thread_local char text[40];
  thread_local size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != made_at) {
    std::tm utc;
    gmtime_r(&now, &utc);
    length = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    made_at = now;
  }
  return std::string_view(text, length);
}

bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

// The status line and header fields, up to the blank line, as one string.
// Written here rather than by Beast's serializer: a cached answer's whole
// cost is a few microseconds, and the serializer's buffer walking and field
// allocations were the largest part of it (bench/RESULTS.md, profile).
std::string SerializeHead(const Response& response, bool keep_alive, uint64_t length) {
  std::string head;
  head.reserve(320);
  // Beast knows the registered statuses; tus adds 460 (a chunk whose checksum
  // did not match).
  beast::string_view reason = response.status == 460
                                  ? beast::string_view("Checksum Mismatch")
                                  : http::obsolete_reason(http::int_to_status(response.status));
  absl::StrAppend(&head, "HTTP/1.1 ", response.status, " ",
                  absl::string_view(reason.data(), reason.size()), "\r\n");
  for (const auto& [name, value] : response.headers.fields()) {
    if (IsFramingField(name)) continue;
    if (!IsSafeField(name, value)) {
      spdlog::error("dropping response header field {} with CR, LF or NUL", name);
      continue;
    }
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  std::string_view date = HttpDate();
  absl::StrAppend(&head, "Server: dvs\r\nDate: ", absl::string_view(date.data(), date.size()),
                  "\r\n");
  if (StatusHasBody(response.status)) absl::StrAppend(&head, "Content-Length: ", length, "\r\n");
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

// TCP_CORK while it lives: partial packets wait until it ends.
class Cork {
 public:
  explicit Cork(int fd) : fd_(fd) { Set(1); }
  ~Cork() { Set(0); }
  Cork(const Cork&) = delete;
  Cork& operator=(const Cork&) = delete;

 private:
  void Set(int on) { setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)); }
  const int fd_;
};

absl::StatusOr<size_t> ReadSource(BodySource& source, char* buffer, size_t max) {
  try {
    return source.Read(buffer, max);
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

// The body's length as sent (the source's, or the string's).
uint64_t BodyLength(const Response& response, bool head) {
  if (head || !StatusHasBody(response.status)) return 0;
  return response.source ? response.source_length : response.body.size();
}

}  // namespace

void ResponseWriter::Report(const Request& request, int status, uint64_t body_bytes, bool sent) {
  if (!core_.options.on_exchange) return;
  // A request whose head could not be parsed has no time of arrival.
  bool timed = request.received_at != std::chrono::steady_clock::time_point();
  Exchange exchange{.request = request,
                    .status = status,
                    .body_bytes = body_bytes,
                    .completed = sent,
                    .elapsed = timed ? std::chrono::steady_clock::now() - request.received_at
                                     : std::chrono::steady_clock::duration()};
  try {
    core_.options.on_exchange(exchange);
  } catch (const std::exception& e) {
    spdlog::error("on_exchange for {} {} threw: {}", request.method, LoggablePath(request),
                  e.what());
  }
}

asio::awaitable<bool> ResponseWriter::Send(const Request& request, Response response,
                                           bool keep_alive) {
  keep_alive = keep_alive && !core_.stopping;
  bool head = request.method == "HEAD";
  uint64_t body_bytes = BodyLength(response, head);
  bool sent = false;
  // Plain if/else: GCC 12 miscompiles co_await inside a conditional expression.
  std::optional<std::string_view> in_memory;
  std::optional<FileRegion> in_file;
  if (response.source) in_memory = response.source->InMemory();
  if (response.source && !in_memory) in_file = response.source->InFile();
  if (in_memory) {
    sent = co_await SendMemory(head, response, *in_memory, keep_alive);
  } else if (in_file) {
    sent = co_await SendFile(head, response, *in_file, keep_alive);
  } else if (response.source) {
    sent = co_await SendSource(head, response, keep_alive);
  } else {
    sent = co_await SendString(head, response, keep_alive);
  }
  if (response.source && !in_memory && !in_file) {
    // A source's destructor may close a file or a remote stream: not on an I/O thread.
    co_await OnWorkers(core_, [&] { response.source.reset(); });
  }
  Report(request, response.status, body_bytes, sent);
  co_return sent&& keep_alive;
}

// Writes `head` and `body` in one gathered write. Each system call may take
// as much as the socket will (asio's default stops every 64 KiB, which costs
// a 1.4 MB segment 22 calls instead of a few).
asio::awaitable<bool> ResponseWriter::Write(std::string_view head, std::string_view body) {
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head.data(), head.size()),
                                            asio::buffer(body.data(), body.size())};
  auto as_much_as_it_takes = [](const beast::error_code& ec, size_t) -> size_t {
    return ec ? 0 : size_t{1} << 30;
  };
  connection_.stream.expires_after(core_.options.read_timeout);
  auto [ec, n] =
      co_await asio::async_write(connection_.stream, buffers, as_much_as_it_takes, kUseTuple);
  co_return !ec;
}

asio::awaitable<bool> ResponseWriter::SendString(bool head, Response& response, bool keep_alive) {
  std::string serialized = SerializeHead(response, keep_alive, response.body.size());
  std::string_view body;
  if (!head && StatusHasBody(response.status)) body = response.body;
  co_return co_await Write(serialized, body);
}

// A body already in memory goes out with its header in one write, from
// where it lies: no copy and no worker thread.
asio::awaitable<bool> ResponseWriter::SendMemory(bool head, Response& response,
                                                 std::string_view body, bool keep_alive) {
  if (body.size() != response.source_length) {
    spdlog::error("response body in memory has {} bytes, {} promised", body.size(),
                  response.source_length);
    co_return false;
  }
  std::string serialized = SerializeHead(response, keep_alive, response.source_length);
  if (head || !StatusHasBody(response.status)) body = {};
  co_return co_await Write(serialized, body);
}

// A body in a local file: the header in one write, then sendfile(2) as fast
// as the socket takes it. A client that reads nothing for the read timeout
// is dropped, as with every other write.
asio::awaitable<bool> ResponseWriter::SendFile(bool head, Response& response, FileRegion region,
                                               bool keep_alive) {
  if (region.length != response.source_length) {
    spdlog::error("response body file region has {} bytes, {} promised", region.length,
                  response.source_length);
    co_return false;
  }
  asio::ip::tcp::socket& socket = connection_.stream.socket();
  // Corked, the header leaves in the first packet of the body, not alone.
  Cork cork(socket.native_handle());
  std::string serialized = SerializeHead(response, keep_alive, response.source_length);
  bool head_written = co_await Write(serialized, {});
  if (!head_written) co_return false;
  if (head || !StatusHasBody(response.status)) co_return true;
  beast::error_code ignored;
  socket.native_non_blocking(true, ignored);
  off_t offset = static_cast<off_t>(region.offset);
  uint64_t remaining = region.length;
  while (remaining > 0) {
    ssize_t sent = ::sendfile(socket.native_handle(), region.fd, &offset,
                              static_cast<size_t>(std::min<uint64_t>(remaining, 1 << 30)));
    if (sent > 0) {
      remaining -= static_cast<uint64_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) {
      bool writable = co_await WaitUntilWritable();
      if (!writable) co_return false;
      continue;
    }
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) co_return false;  // client left
    spdlog::warn("sendfile failed after {} of {} bytes: {}", region.length - remaining,
                 region.length, sent == 0 ? "the file ended early" : std::strerror(errno));
    co_return false;
  }
  co_return true;
}

// False when the socket failed, or stayed full for the read timeout.
asio::awaitable<bool> ResponseWriter::WaitUntilWritable() {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(connection_.stream.socket().get_executor());
  timer.expires_after(core_.options.read_timeout);
  auto waited =
      co_await (connection_.stream.socket().async_wait(asio::socket_base::wait_write, kUseTuple) ||
                timer.async_wait(kUseTuple));
  if (waited.index() != 0) co_return false;
  auto [ec] = std::get<0>(waited);
  co_return !ec;
}

// Content-Length is promised up front, so a source that fails or ends early
// leaves the connection unusable: it is closed (false).
asio::awaitable<bool> ResponseWriter::SendSource(bool head, Response& response, bool keep_alive) {
  std::string serialized = SerializeHead(response, keep_alive, response.source_length);
  std::string buffer(
      static_cast<size_t>(std::min<uint64_t>(kSourceChunkSize, response.source_length)), '\0');
  uint64_t remaining = head || !StatusHasBody(response.status) ? 0 : response.source_length;
  // The header goes out with the first chunk, in one write: a small file is
  // then one packet, and the client's delayed ACK never holds it up.
  do {
    size_t got = 0;
    if (remaining > 0) {
      size_t wanted = static_cast<size_t>(std::min<uint64_t>(buffer.size(), remaining));
      absl::StatusOr<size_t> read = co_await OnWorkers(
          core_, [&] { return ReadSource(*response.source, buffer.data(), wanted); });
      if (!read.ok() || *read == 0 || *read > wanted) {
        spdlog::warn("response body source failed after {} of {} bytes: {}",
                     response.source_length - remaining, response.source_length,
                     read.ok() ? "ended early" : read.status().ToString());
        co_return false;
      }
      got = *read;
      remaining -= got;
    }
    bool written = co_await Write(serialized, std::string_view(buffer.data(), got));
    if (!written) co_return false;
    serialized.clear();
  } while (remaining > 0);
  co_return true;
}

}  // namespace dvs::http::internal
