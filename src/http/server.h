// The HTTP/1.1 server (Boost.Beast, C++20 coroutines): keep-alive, a timeout
// on every read, header and body limits, handlers run on a worker pool so the
// I/O threads never block, graceful shutdown on SIGINT/SIGTERM.
// Start, Run and Stop may be called from different threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "http/router.h"
#include "http/transfer_pace.h"

namespace dvs::http {

// One request and what became of it, for metrics and the access log.
struct Exchange {
  const Request& request;  // request.route is empty when no route matched
  int status = 0;
  uint64_t body_bytes = 0;  // the response body's length (0 for HEAD)
  bool completed = false;   // the whole response was written
  std::chrono::steady_clock::duration elapsed{};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see Server::port()
  int io_threads = 1;
  int worker_threads = 8;
  size_t header_limit = 16 << 10;
  size_t body_limit = 1 << 20;         // for routes that are not streaming
  uint64_t upload_limit = 8ull << 30;  // for streaming routes; over it is 413
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // each header or body read
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};  // between keep-alive requests
  size_t max_connections = 4096;
  // Streaming bodies (uploads) must keep this pace (a minimum rate over each
  // window, a total deadline), or get 408 and their connection is closed.
  PaceLimits upload_pace;
  bool handle_signals = true;  // stop on SIGINT/SIGTERM
  // Runs on the I/O thread for every request head, before routing, and must
  // not block: an answer refuses the request (a foreign Host, a cross-site
  // write) without reading its body; nullopt lets it through.
  std::function<std::optional<Response>(const Request& request)> request_filter;
  // Runs on the I/O thread after every response (sent or not); must not block.
  std::function<void(const Exchange& exchange)> on_exchange;
};

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();

  // Binds and listens; port() is known afterwards.
  [[nodiscard]] absl::Status Start();
  uint16_t port() const;
  // Serves until Stop() or a signal, then lets running requests finish (up to
  // a few seconds) and returns.
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvs::http
