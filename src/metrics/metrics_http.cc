#include "metrics/metrics_http.h"

#include <utility>

#include "common/status.h"
#include "http/router.h"
#include "http/server.h"

namespace dvs::metrics {

http::Response MetricsResponse(const Registry& registry) {
  http::Response response =
      http::Response::Text(200, registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

absl::StatusOr<std::unique_ptr<MetricsListener>> MetricsListener::Start(const std::string& host,
                                                                        uint16_t port,
                                                                        const Registry& registry) {
  http::Router router;
  router.Add("GET", "/metrics", [&registry](http::Request&) { return MetricsResponse(registry); });
  router.Add("GET", "/healthz", [](http::Request&) { return http::Response::Text(200, "ok\n"); });
  // A scrape is small and rare: one worker, few connections, no signals
  // (the process handles its own).
  auto server = std::make_unique<http::Server>(http::ServerOptions{.host = host,
                                                                   .port = port,
                                                                   .worker_threads = 1,
                                                                   .max_connections = 64,
                                                                   .handle_signals = false},
                                               std::move(router));
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<MetricsListener>(new MetricsListener(std::move(server)));
}

MetricsListener::MetricsListener(std::unique_ptr<http::Server> server)
    : server_(std::move(server)), thread_([this] { server_->Run(); }) {}

MetricsListener::~MetricsListener() {
  server_->Stop();
  thread_.join();
}

uint16_t MetricsListener::port() const { return server_->port(); }

}  // namespace dvs::metrics
