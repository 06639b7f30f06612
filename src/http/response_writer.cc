#include "http/response_writer.h"

#include <spdlog/spdlog.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

#include "http/text.h"

namespace dvs::http::internal {
namespace {

namespace http = beast::http;

constexpr size_t kSourceChunkSize = 256 << 10;

// The server owns framing; a handler's own values for these are replaced.
bool IsFramingField(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
         EqualsIgnoreCase(name, "Connection");
}

// CR, LF or NUL in a field would let a value smuggle in headers of its own.
bool IsSafeField(std::string_view name, std::string_view value) {
  auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  return !name.empty() && std::none_of(name.begin(), name.end(), bad) &&
         std::none_of(value.begin(), value.end(), bad);
}

std::string HttpDate() {
  std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);
  char text[40];
  size_t length = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(text, length);
}

bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

template <typename Body>
void ApplyHead(const Response& response, bool keep_alive, uint64_t length,
               http::response<Body>& message) {
  message.result(static_cast<unsigned>(response.status));
  message.version(11);
  for (const auto& [name, value] : response.headers.fields()) {
    if (IsFramingField(name)) continue;
    if (!IsSafeField(name, value)) {
      spdlog::error("dropping response header field {} with CR, LF or NUL", name);
      continue;
    }
    message.insert(name, value);
  }
  message.set(http::field::server, "dvs");
  message.set(http::field::date, HttpDate());
  if (StatusHasBody(response.status)) message.content_length(length);
  message.keep_alive(keep_alive);
}

absl::StatusOr<size_t> ReadSource(BodySource& source, char* buffer, size_t max) {
  try {
    return source.Read(buffer, max);
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

}  // namespace

asio::awaitable<bool> ResponseWriter::Send(const Request& request, Response response,
                                           bool keep_alive) {
  keep_alive = keep_alive && !core_.stopping;
  bool head = request.method == "HEAD";
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
  co_return sent&& keep_alive;
}

asio::awaitable<bool> ResponseWriter::SendString(bool head, Response& response, bool keep_alive) {
  http::response<http::string_body> message;
  ApplyHead(response, keep_alive, response.body.size(), message);
  if (!head && StatusHasBody(response.status)) message.body() = std::move(response.body);
  connection_.stream.expires_after(core_.options.read_timeout);
  auto [ec, n] = co_await http::async_write(connection_.stream, message, kUseTuple);
  co_return !ec;
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
  http::response<http::buffer_body> message;
  ApplyHead(response, keep_alive, response.source_length, message);
  bool send_body = !head && StatusHasBody(response.status) && !body.empty();
  message.body().data = send_body ? const_cast<char*>(body.data()) : nullptr;
  message.body().size = send_body ? body.size() : 0;
  message.body().more = false;
  connection_.stream.expires_after(core_.options.read_timeout);
  auto [ec, n] = co_await http::async_write(connection_.stream, message, kUseTuple);
  co_return !ec;
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
  http::response<http::empty_body> message;
  ApplyHead(response, keep_alive, response.source_length, message);
  connection_.stream.expires_after(core_.options.read_timeout);
  auto [ec, n] = co_await http::async_write(connection_.stream, message, kUseTuple);
  if (ec) co_return false;
  if (head || !StatusHasBody(response.status)) co_return true;
  asio::ip::tcp::socket& socket = connection_.stream.socket();
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
  http::response<http::buffer_body> message;
  ApplyHead(response, keep_alive, response.source_length, message);
  message.body().data = nullptr;
  message.body().more = !head && response.source_length > 0;
  http::response_serializer<http::buffer_body> serializer(message);
  std::string buffer(
      static_cast<size_t>(std::min<uint64_t>(kSourceChunkSize, response.source_length)), '\0');
  uint64_t remaining = head ? 0 : response.source_length;
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
    message.body().data = got > 0 ? buffer.data() : nullptr;
    message.body().size = got;
    message.body().more = remaining > 0;
    connection_.stream.expires_after(core_.options.read_timeout);
    auto [write_ec, written] =
        co_await http::async_write(connection_.stream, serializer, kUseTuple);
    if (write_ec && write_ec != http::error::need_buffer) co_return false;
  } while (remaining > 0);
  co_return true;
}

}  // namespace dvs::http::internal
