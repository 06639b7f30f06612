// One coroutine per connection: read a request head, route it, read the body
// (whole for plain routes, in chunks into a BodySink for streaming ones), run
// the handler on the worker pool, write the response, loop while keep-alive.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <exception>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "http/response_writer.h"
#include "http/server_core.h"

namespace dvs::http::internal {
namespace {

namespace http = beast::http;
using Parser = http::request_parser<http::buffer_body>;

constexpr size_t kFirstReadSize = 4096;
constexpr size_t kPlainReadSize = 64 << 10;
constexpr size_t kUploadChunkSize = 256 << 10;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 4 << 20;

// Beast's own parse errors (as opposed to network errors) mean a bad request.
bool IsParseError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// The reason a client gets for a request Beast cannot parse ("bad Content-Length").
std::string MalformedMessage(const beast::error_code& ec) {
  return absl::StrCat("malformed request: ", ec.message());
}

// HTTP/1.0 connections are closed after one response: keeping them open
// would need "Connection: keep-alive" echoed in a 1.0 response.
bool KeepAlive(const Parser& parser) { return parser.get().version() >= 11 && parser.keep_alive(); }

Request MakeRequest(const Parser::value_type& message, const std::string& remote_address) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  for (const auto& field : message) {
    request.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request.remote_address = remote_address;
  request.received_at = std::chrono::steady_clock::now();
  return request;
}

Response CallHandler(const Handler& handler, Request& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} threw: {}", request.method, LoggablePath(request), e.what());
    return Response::Error(request, absl::InternalError("internal error"));
  }
}

// The server's request filter, if any; a filter that throws refuses.
std::optional<Response> Filter(const ServerCore& core, const Request& request) {
  if (!core.options.request_filter) return std::nullopt;
  try {
    return core.options.request_filter(request);
  } catch (const std::exception& e) {
    spdlog::error("request filter for {} {} threw: {}", request.method, LoggablePath(request),
                  e.what());
    return Response::Error(request, absl::InternalError("internal error"));
  }
}

// The route's answer with what is at hand, on this I/O thread; nullopt sends the
// request to the worker pool (also when the at-hand handler throws).
std::optional<Response> AnswerAtHand(const Router::Route& route, Request& request) {
  if (!route.at_hand) return std::nullopt;
  try {
    return route.at_hand(request);
  } catch (const std::exception& e) {
    spdlog::error("at-hand handler for {} {} threw: {}", request.method, LoggablePath(request),
                  e.what());
    return std::nullopt;
  }
}

absl::StatusOr<std::unique_ptr<BodySink>> CallSinkFactory(const SinkFactory& factory,
                                                          Request& request) {
  try {
    return factory(request);
  } catch (const std::exception& e) {
    spdlog::error("sink factory for {} threw: {}", LoggablePath(request), e.what());
    return absl::InternalError("internal error");
  }
}

absl::Status CallConsume(BodySink& sink, std::string_view chunk) {
  try {
    return sink.Consume(chunk);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("upload failed: ", e.what()));
  }
}

Response CallFinish(BodySink& sink, const Request& request) {
  try {
    return sink.Finish();
  } catch (const std::exception& e) {
    spdlog::error("upload to {} failed to finish: {}", LoggablePath(request), e.what());
    return Response::Error(request, absl::InternalError("internal error"));
  }
}

// A poller that throws answers 500.
std::optional<Response> CallPoll(ResponsePoller& poller, bool last, const Request& request) {
  try {
    return poller.Poll(last);
  } catch (const std::exception& e) {
    spdlog::error("pending response to {} {} threw: {}", request.method, LoggablePath(request),
                  e.what());
    return Response::Error(request, absl::InternalError("internal error"));
  }
}

class Session {
 public:
  Session(ServerCore& core, std::shared_ptr<Connection> connection)
      : core_(core), connection_(std::move(connection)), writer_(core, *connection_) {}

  asio::awaitable<void> Run();

 private:
  asio::awaitable<bool> WaitForRequest(bool first);
  asio::awaitable<bool> ServeOne();
  asio::awaitable<bool> FailHeaderRead(beast::error_code ec);
  asio::awaitable<bool> Dispatch(Parser& parser);
  asio::awaitable<bool> ServePlain(Parser& parser, Request& request, const Router::Route& route);
  asio::awaitable<bool> ServeStreaming(Parser& parser, Request& request,
                                       const SinkFactory& factory);
  asio::awaitable<bool> FeedSink(Parser& parser, Request& request, BodySink& sink);
  asio::awaitable<beast::error_code> ReadBody(Parser& parser, char* data, size_t capacity,
                                              size_t* filled, TransferPace* pace = nullptr);
  asio::awaitable<void> SendContinueIfExpected(Parser& parser);
  asio::awaitable<Response> Settle(const Request& request, Response response);
  asio::awaitable<bool> Reject(const Request& request, int status, std::string_view message);
  asio::awaitable<bool> RejectWith(const Request& request, Response response);
  asio::awaitable<bool> FailBodyRead(const Request& request, beast::error_code ec);
  asio::awaitable<void> LingeringClose();
  void Close();

  ServerCore& core_;
  std::shared_ptr<Connection> connection_;
  ResponseWriter writer_;
  beast::flat_buffer buffer_;
  absl::Status pace_failure_;  // why ReadBody gave up on a streaming body
};

asio::awaitable<void> Session::Run() {
  for (bool first = true;; first = false) {
    bool request_arrived = co_await WaitForRequest(first);
    if (!request_arrived) break;
    bool keep_alive = co_await ServeOne();
    if (!keep_alive) break;
  }
  Close();
}

// Waits, with the idle timeout between keep-alive requests, for the first
// bytes of a request; the shutdown sweep cancels this wait.
asio::awaitable<bool> Session::WaitForRequest(bool first) {
  if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
  if (core_.stopping) co_return false;
  connection_->idle = true;
  connection_->stream.expires_after(first ? core_.options.read_timeout
                                          : core_.options.idle_timeout);
  auto [ec, n] =
      co_await connection_->stream.async_read_some(buffer_.prepare(kFirstReadSize), kUseTuple);
  connection_->idle = false;
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

// Reads one request head and answers it; false when the connection must close.
asio::awaitable<bool> Session::ServeOne() {
  Parser parser;
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(core_.options.header_limit, std::numeric_limits<uint32_t>::max())));
  parser.body_limit(boost::none);  // the route decides; see ExceedsLimit
  connection_->stream.expires_after(core_.options.read_timeout);
  auto [ec, n] = co_await http::async_read_header(connection_->stream, buffer_, parser, kUseTuple);
  if (ec) co_return co_await FailHeaderRead(ec);
  co_return co_await Dispatch(parser);
}

// A client that closed its sending side mid-request can still read the
// answer; a timeout has closed the socket already (beast::tcp_stream), and a
// broken connection has nobody to answer.
asio::awaitable<bool> Session::FailHeaderRead(beast::error_code ec) {
  Request unparsed;  // the head is unusable, so the answer cannot depend on it
  if (ec == http::error::header_limit) {
    co_return co_await Reject(unparsed, 431, "request header fields too large");
  }
  if (ec == http::error::partial_message) {
    co_return co_await Reject(unparsed, 400, "the request ended inside its header");
  }
  if (IsParseError(ec)) co_return co_await Reject(unparsed, 400, MalformedMessage(ec));
  co_return false;
}

asio::awaitable<bool> Session::Dispatch(Parser& parser) {
  Request request = MakeRequest(parser.get(), connection_->remote_address);
  std::optional<Response> refused = Filter(core_, request);
  if (refused.has_value()) co_return co_await RejectWith(request, std::move(*refused));
  Router::Match match = core_.router.Find(request.method, request.path);
  if (match.route == nullptr) {
    int status = match.method_not_allowed ? 405 : 404;
    Response response = ErrorResponse(
        request, status, match.method_not_allowed ? "method not allowed" : "not found");
    // An unread body would be taken for the next request.
    bool keep_alive = KeepAlive(parser) && parser.is_done();
    co_return co_await writer_.Send(request, std::move(response), keep_alive);
  }
  request.params = std::move(match.params);
  request.route = match.route->pattern;
  if (match.route->sink_factory) {
    co_return co_await ServeStreaming(parser, request, match.route->sink_factory);
  }
  co_return co_await ServePlain(parser, request, *match.route);
}

// A declared Content-Length over `limit` is refused before any body is read;
// the parser enforces the same limit on chunked bodies.
bool ExceedsLimit(Parser& parser, uint64_t limit) {
  boost::optional<uint64_t> length = parser.content_length();
  if (length && *length > limit) return true;
  parser.body_limit(limit);
  return false;
}

asio::awaitable<bool> Session::ServePlain(Parser& parser, Request& request,
                                          const Router::Route& route) {
  if (ExceedsLimit(parser, core_.options.body_limit)) {
    co_return co_await Reject(request, 413, "request body too large");
  }
  co_await SendContinueIfExpected(parser);
  std::string body;
  while (!parser.is_done()) {
    size_t old_size = body.size();
    body.resize(old_size + kPlainReadSize);
    size_t filled = 0;
    beast::error_code ec =
        co_await ReadBody(parser, body.data() + old_size, kPlainReadSize, &filled);
    body.resize(old_size + filled);
    if (ec) co_return co_await FailBodyRead(request, ec);
  }
  request.body = std::move(body);
  std::optional<Response> answered = AnswerAtHand(route, request);
  if (answered) {
    co_return co_await writer_.Send(request, std::move(*answered), KeepAlive(parser));
  }
  Response response =
      co_await OnWorkers(core_, [&] { return CallHandler(route.handler, request); });
  response = co_await Settle(request, std::move(response));
  co_return co_await writer_.Send(request, std::move(response), KeepAlive(parser));
}

asio::awaitable<bool> Session::ServeStreaming(Parser& parser, Request& request,
                                              const SinkFactory& factory) {
  if (ExceedsLimit(parser, core_.options.upload_limit)) {
    co_return co_await Reject(request, 413, "upload too large");
  }
  absl::StatusOr<std::unique_ptr<BodySink>> sink =
      co_await OnWorkers(core_, [&] { return CallSinkFactory(factory, request); });
  if (!sink.ok()) {
    Response response = Response::Error(request, sink.status());
    co_return co_await RejectWith(request, std::move(response));
  }
  if (*sink == nullptr) co_return co_await Reject(request, 500, "no upload sink");
  bool keep_alive = co_await FeedSink(parser, request, **sink);
  // A sink's destructor may clean up files: not on an I/O thread either.
  co_await OnWorkers(core_, [&] { sink->reset(); });
  co_return keep_alive;
}

asio::awaitable<bool> Session::FeedSink(Parser& parser, Request& request, BodySink& sink) {
  co_await SendContinueIfExpected(parser);
  std::string chunk(kUploadChunkSize, '\0');
  TransferPace pace(core_.options.upload_pace, TransferPace::Clock::now());
  while (!parser.is_done()) {
    size_t filled = 0;
    beast::error_code ec = co_await ReadBody(parser, chunk.data(), chunk.size(), &filled, &pace);
    if (ec) co_return co_await FailBodyRead(request, ec);
    std::string_view data(chunk.data(), filled);
    absl::Status status = co_await OnWorkers(core_, [&] { return CallConsume(sink, data); });
    if (!status.ok()) {
      Response response = Response::Error(request, status);
      co_return co_await RejectWith(request, std::move(response));
    }
  }
  Response response = co_await OnWorkers(core_, [&] { return CallFinish(sink, request); });
  response = co_await Settle(request, std::move(response));
  co_return co_await writer_.Send(request, std::move(response), KeepAlive(parser));
}

// Fills `data` with body bytes until it is full or the body ends; every
// socket read gets its own read timeout, so a steady slow sender is served.
// With `pace`, a sender under its minimum rate or past its deadline is given
// up on (timed_out, the reason in pace_failure_).
asio::awaitable<beast::error_code> Session::ReadBody(Parser& parser, char* data, size_t capacity,
                                                     size_t* filled, TransferPace* pace) {
  *filled = 0;
  while (*filled < capacity && !parser.is_done()) {
    parser.get().body().data = data + *filled;
    parser.get().body().size = capacity - *filled;
    connection_->stream.expires_after(core_.options.read_timeout);
    auto [ec, n] = co_await http::async_read_some(connection_->stream, buffer_, parser, kUseTuple);
    const size_t before = *filled;
    *filled = capacity - parser.get().body().size;
    if (ec && ec != http::error::need_buffer) co_return ec;
    if (pace == nullptr) continue;
    pace_failure_ = pace->Update(*filled - before, TransferPace::Clock::now());
    if (!pace_failure_.ok()) co_return asio::error::timed_out;
  }
  co_return beast::error_code();
}

asio::awaitable<void> Session::SendContinueIfExpected(Parser& parser) {
  if (!beast::iequals(parser.get()[http::field::expect], "100-continue")) co_return;
  http::response<http::empty_body> interim(http::status::continue_, parser.get().version());
  connection_->stream.expires_after(core_.options.read_timeout);
  co_await http::async_write(connection_->stream, interim, kUseTuple);
}

// A pending response is polled on the worker pool between waits on a timer
// of this strand: a request that waits (?wait=1) holds no thread.
asio::awaitable<Response> Session::Settle(const Request& request, Response response) {
  asio::steady_timer timer(connection_->stream.get_executor());
  while (response.pending) {
    ResponsePoller& poller = *response.pending;
    timer.expires_after(poller.interval());
    co_await timer.async_wait(kUseTuple);
    const bool last = core_.stopping;
    std::optional<Response> known =
        co_await OnWorkers(core_, [&] { return CallPoll(poller, last, request); });
    if (known) {
      response = std::move(*known);
    } else if (last) {
      response = ErrorResponse(request, 503, "the server is stopping");
    }
  }
  co_return response;
}

asio::awaitable<bool> Session::Reject(const Request& request, int status,
                                      std::string_view message) {
  Response response = ErrorResponse(request, status, message);
  co_return co_await RejectWith(request, std::move(response));
}

// Answers and closes, draining what the client still sends so that the
// close does not reset the connection before the answer is read.
asio::awaitable<bool> Session::RejectWith(const Request& request, Response response) {
  bool sent = co_await writer_.Send(request, std::move(response), /*keep_alive=*/false);
  if (sent) co_await LingeringClose();
  co_return false;
}

asio::awaitable<bool> Session::FailBodyRead(const Request& request, beast::error_code ec) {
  if (!pace_failure_.ok()) {
    const std::string reason(pace_failure_.message());
    spdlog::info("{} {} from {}: {}", request.method, LoggablePath(request),
                 connection_->remote_address, reason);
    co_return co_await Reject(request, 408, reason);
  }
  if (ec == http::error::body_limit)
    co_return co_await Reject(request, 413, "request body too large");
  if (ec == http::error::partial_message) {
    co_return co_await Reject(request, 400, "the request body ended before its declared length");
  }
  if (IsParseError(ec)) co_return co_await Reject(request, 400, MalformedMessage(ec));
  co_return false;  // timeout or a broken connection: nobody to answer
}

asio::awaitable<void> Session::LingeringClose() {
  beast::error_code ignored;
  connection_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  std::array<char, 16 << 10> scratch;
  size_t drained = 0;
  connection_->stream.expires_after(kLingerTime);  // one deadline for the whole drain
  while (drained < kLingerBytes) {
    auto [ec, n] = co_await connection_->stream.async_read_some(asio::buffer(scratch), kUseTuple);
    if (ec) break;
    drained += n;
  }
}

void Session::Close() {
  beast::error_code ignored;
  connection_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  connection_->stream.close();
}

}  // namespace

asio::awaitable<void> RunSession(ServerCore& core, std::shared_ptr<Connection> connection,
                                 ConnectionLease lease) {
  Session session(core, std::move(connection));
  co_await session.Run();
}

}  // namespace dvs::http::internal
