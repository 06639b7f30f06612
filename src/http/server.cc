#include "http/server.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "http/server_core.h"

namespace dvs::http {
namespace {

using internal::asio::ip::tcp;
namespace asio = internal::asio;
using internal::kUseTuple;

constexpr auto kShutdownGrace = std::chrono::seconds(5);
constexpr auto kShutdownPoll = std::chrono::milliseconds(10);
constexpr auto kAcceptErrorPause = std::chrono::milliseconds(100);
constexpr auto kRejectTimeout = std::chrono::seconds(1);
constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nServer: dvs\r\nContent-Type: text/plain\r\n"
    "Content-Length: 20\r\nConnection: close\r\n\r\nserver is too busy\r\n";

// Over max_connections: a fixed 503 instead of a session.
asio::awaitable<void> RejectBusy(tcp::socket socket) {
  internal::beast::tcp_stream stream(std::move(socket));
  stream.expires_after(kRejectTimeout);
  co_await asio::async_write(stream, asio::buffer(kBusyResponse), kUseTuple);
  internal::beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

absl::StatusOr<tcp::endpoint> ResolveListenAddress(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve listen host ", host, ": ",
                                                   ec ? ec.message() : "no addresses"));
  }
  return results.begin()->endpoint();
}

}  // namespace

namespace internal {

ServerCore::ServerCore(ServerOptions options_in, Router router_in)
    : options(std::move(options_in)),
      router(std::move(router_in)),
      workers(static_cast<size_t>(std::max(1, options.worker_threads))) {}

void ServerCore::Register(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  connections_.emplace(connection.get(), connection);
}

void ServerCore::Unregister(const Connection* connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection);
}

size_t ServerCore::ActiveConnections() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

// `idle` is checked on the connection's strand, where the session sets it.
void ServerCore::CloseIdleConnections() {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : connections_) connections.push_back(entry.second);
  }
  for (std::shared_ptr<Connection>& connection : connections) {
    asio::post(connection->stream.get_executor(), [connection] {
      if (connection->idle) connection->stream.cancel();
    });
  }
}

ConnectionLease::ConnectionLease(ServerCore& core, const std::shared_ptr<Connection>& connection)
    : core_(&core), connection_(connection.get()) {
  core.Register(connection);
}

ConnectionLease::ConnectionLease(ConnectionLease&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)), connection_(other.connection_) {}

ConnectionLease::~ConnectionLease() {
  if (core_ != nullptr) core_->Unregister(connection_);
}

}  // namespace internal

// Members are ordered so that coroutine frames, destroyed with `io`, can
// still reach `core`. The acceptor and the signal set live on `control`.
struct Server::Impl {
  Impl(ServerOptions options, Router router)
      : core(std::move(options), std::move(router)),
        io(std::max(1, core.options.io_threads)),
        control(asio::make_strand(io)),
        acceptor(control),
        signals(control) {}

  // Waits for handlers still running on the pool; their completions, like
  // every unfinished session, are then destroyed with `io` while `core` lives.
  ~Impl() {
    io.stop();
    core.workers.join();
  }

  absl::Status Listen();
  asio::awaitable<void> Accept();
  void BeginShutdown();
  asio::awaitable<void> Drain();

  internal::ServerCore core;
  asio::io_context io;
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<uint16_t> port{0};
};

absl::Status Server::Impl::Listen() {
  ASSIGN_OR_RETURN(tcp::endpoint endpoint,
                   ResolveListenAddress(core.options.host, core.options.port));
  boost::system::error_code ec;
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return absl::InternalError(absl::StrCat("cannot open a listening socket: ", ec.message()));
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat("cannot bind ", core.options.host, ":",
                                               core.options.port, ": ", ec.message()));
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat("cannot listen: ", ec.message()));
  }
  port = acceptor.local_endpoint().port();
  return absl::OkStatus();
}

asio::awaitable<void> Server::Impl::Accept() {
  while (acceptor.is_open()) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::any_io_executor(asio::make_strand(io)), kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    if (ec) {
      // Out of file descriptors and the like: keep serving the open connections,
      // and pause so that a persistent error does not spin the I/O thread.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(control, kAcceptErrorPause);
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    // A response goes out as a header write and then body writes: with Nagle
    // on, a small body waits for the ACK of the header, which the client
    // delays (~40 ms a request).
    boost::system::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    if (core.ActiveConnections() >= core.options.max_connections) {
      asio::co_spawn(socket.get_executor(), RejectBusy(std::move(socket)), asio::detached);
      continue;
    }
    boost::system::error_code endpoint_ec;
    tcp::endpoint remote = socket.remote_endpoint(endpoint_ec);
    std::string remote_address = endpoint_ec ? std::string() : remote.address().to_string();
    auto executor = socket.get_executor();
    auto connection = std::make_shared<internal::Connection>(std::move(socket), remote_address);
    internal::ConnectionLease lease(core, connection);
    asio::co_spawn(executor, internal::RunSession(core, connection, std::move(lease)),
                   asio::detached);
  }
}

// On `control`. New connections stop at once; running requests get up to
// kShutdownGrace, idle keep-alive connections are closed.
void Server::Impl::BeginShutdown() {
  if (core.stopping.exchange(true)) return;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  asio::co_spawn(control, Drain(), asio::detached);
}

asio::awaitable<void> Server::Impl::Drain() {
  auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
  asio::steady_timer timer(control);
  while (core.ActiveConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    core.CloseIdleConnections();
    timer.expires_after(kShutdownPoll);
    co_await timer.async_wait(kUseTuple);
  }
  if (core.ActiveConnections() > 0) {
    spdlog::warn("stopping with {} connections still busy", core.ActiveConnections());
  }
  io.stop();
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() = default;

absl::Status Server::Start() {
  // sendfile(2) to a connection the client has closed raises SIGPIPE, which
  // would end the process; the write's EPIPE is handled instead. (Socket
  // writes pass MSG_NOSIGNAL; sendfile has no such flag.)
  std::signal(SIGPIPE, SIG_IGN);
  RETURN_IF_ERROR(impl_->Listen());
  asio::co_spawn(impl_->control, impl_->Accept(), asio::detached);
  if (impl_->core.options.handle_signals) {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) impl_->BeginShutdown();
    });
  }
  spdlog::info("listening on {}:{}", impl_->core.options.host, port());
  return absl::OkStatus();
}

uint16_t Server::port() const { return impl_->port; }

void Server::Run() {
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->core.options.io_threads; ++i) {
    threads.emplace_back([this] { impl_->io.run(); });
  }
  impl_->io.run();
  for (std::thread& thread : threads) thread.join();
}

void Server::Stop() {
  asio::post(impl_->control, [impl = impl_.get()] { impl->BeginShutdown(); });
}

}  // namespace dvs::http
