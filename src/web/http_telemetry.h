// What `dvs web` records of every HTTP exchange: Prometheus series by route
// template (bounded: the router's patterns, never raw paths) and status, and
// with --access-log one log line per request. No credentials ever reach a
// line: no query string, no header but the User-Agent, and a signed URL's
// signature replaced (http::LoggablePath). Thread-safe; Record never blocks
// beyond writing its log line.
#pragma once

#include <memory>

#include "http/server.h"
#include "metrics/registry.h"

namespace spdlog {
class logger;
}

namespace dvs::web {

class HttpTelemetry {
 public:
  // `access_log`: write one line per request (text or JSON, as the process
  // logs: metrics::CurrentLogFormat) to standard output.
  HttpTelemetry(metrics::Registry& registry, bool access_log);
  ~HttpTelemetry();

  // For http::ServerOptions::on_exchange.
  void Record(const http::Exchange& exchange);

  // The access log line (without its newline).
  static std::string AccessLine(const http::Exchange& exchange, bool json);

 private:
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& durations_;
  metrics::Family<metrics::Counter>& response_bytes_;
  std::shared_ptr<spdlog::logger> access_log_;  // null: off
};

}  // namespace dvs::web
