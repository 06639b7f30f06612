// Private to the http module: what the acceptor (server.cc) and the
// connection sessions (session.cc) share. It includes Beast and Asio, so only
// those two files include it; the rest of dvs sees server.h.
//
// GCC 12 miscompiles some coroutine forms (a co_await inside a condition or a
// conditional expression, a prvalue argument to a coroutine called in a
// co_await): crashes with dangling references. The coroutines of this module
// therefore give each co_await its own statement and pass named values.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "http/router.h"
#include "http/server.h"

namespace dvs::http::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;

// Errors come back as values: co_await yields (error_code, result...).
inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// One accepted TCP connection. `stream` runs on its own strand; `idle` is
// read and written only on that strand.
struct Connection {
  explicit Connection(asio::ip::tcp::socket socket, std::string remote)
      : stream(std::move(socket)), remote_address(std::move(remote)) {}

  beast::tcp_stream stream;
  const std::string remote_address;
  bool idle = false;  // waiting for the next request; shutdown may close it
};

// The server's shared state. Thread-safe: options and router are immutable
// after construction, `stopping` is atomic and the connection registry is
// guarded by mutex_.
class ServerCore {
 public:
  ServerCore(ServerOptions options, Router router);

  const ServerOptions options;
  const Router router;
  asio::thread_pool workers;  // runs handlers and every blocking BodySink/BodySource call
  std::atomic<bool> stopping{false};

  void Register(const std::shared_ptr<Connection>& connection);
  void Unregister(const Connection* connection);
  size_t ActiveConnections() const;
  // Cancels the pending read of every connection that waits for a request.
  void CloseIdleConnections();

 private:
  mutable std::mutex mutex_;
  // State below is protected by mutex_.
  std::unordered_map<const Connection*, std::shared_ptr<Connection>> connections_;
};

// Keeps a connection registered for as long as its session coroutine frame
// exists, including a frame that is destroyed before it ever ran.
class ConnectionLease {
 public:
  ConnectionLease(ServerCore& core, const std::shared_ptr<Connection>& connection);
  ConnectionLease(ConnectionLease&& other) noexcept;
  ConnectionLease& operator=(ConnectionLease&&) = delete;
  ~ConnectionLease();

 private:
  ServerCore* core_;
  const Connection* connection_;
};

// Serves requests on `connection` until it closes (session.cc).
asio::awaitable<void> RunSession(ServerCore& core, std::shared_ptr<Connection> connection,
                                 ConnectionLease lease);

// Runs `function` on the worker pool and resumes the calling coroutine, on its
// own executor, with the result. `function` must not throw.
template <typename Function>
asio::awaitable<std::invoke_result_t<Function&>> OnWorkers(ServerCore& core, Function function) {
  using Result = std::invoke_result_t<Function&>;
  auto task = [&function]() -> asio::awaitable<Result> { co_return function(); };
  co_return co_await asio::co_spawn(core.workers, std::move(task), asio::use_awaitable);
}

}  // namespace dvs::http::internal
