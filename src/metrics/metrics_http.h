// /metrics over HTTP: the response for a registry, and a small listener of
// its own for processes that serve no HTTP otherwise (`dvs storage
// --metrics-port`, `dvs worker --metrics-port`). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "metrics/registry.h"

namespace dvs::http {
class Server;
}

namespace dvs::metrics {

// The registry rendered, as Prometheus asks for it (text format 0.0.4).
http::Response MetricsResponse(const Registry& registry);

// Serves GET /metrics (and /healthz) on host:port until destroyed.
class MetricsListener {
 public:
  // `registry` must outlive the listener. Port 0 picks a free one.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsListener>> Start(
      const std::string& host, uint16_t port, const Registry& registry);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  uint16_t port() const;

 private:
  explicit MetricsListener(std::unique_ptr<http::Server> server);
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace dvs::metrics
