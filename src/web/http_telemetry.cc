#include "web/http_telemetry.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "http/router.h"
#include "metrics/log_format.h"

namespace dvs::web {
namespace {

// Requests that matched no route (404, 405, a refused Host) share one label.
std::string RouteLabel(const http::Exchange& exchange) {
  return exchange.request.route.empty() ? std::string("none") : std::string(exchange.request.route);
}

double Seconds(std::chrono::steady_clock::duration elapsed) {
  return std::chrono::duration<double>(elapsed).count();
}

std::string UserAgent(const http::Request& request) {
  std::optional<std::string_view> agent = request.headers.Get("User-Agent");
  return agent ? std::string(agent->substr(0, 256)) : std::string();
}

}  // namespace

HttpTelemetry::HttpTelemetry(metrics::Registry& registry, bool access_log)
    : requests_(registry.AddCounterFamily("dvs_http_requests_total",
                                          "HTTP requests answered, by route template and status.",
                                          {"route", "code"})),
      durations_(registry.AddHistogramFamily(
          "dvs_http_request_duration_seconds",
          "Time from a request's head to the end of its response, by route template.", {"route"},
          metrics::LatencyBuckets())),
      response_bytes_(registry.AddCounterFamily("dvs_http_response_bytes_total",
                                                "Response body bytes served, by route template.",
                                                {"route"})) {
  if (access_log) {
    access_log_ = std::make_shared<spdlog::logger>(
        "access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    access_log_->set_pattern("%v");
  }
}

HttpTelemetry::~HttpTelemetry() = default;

void HttpTelemetry::Record(const http::Exchange& exchange) {
  std::string route = RouteLabel(exchange);
  requests_.With({route, std::to_string(exchange.status)}).Inc();
  durations_.With({route}).Observe(Seconds(exchange.elapsed));
  response_bytes_.With({route}).Inc(static_cast<double>(exchange.body_bytes));
  if (access_log_ != nullptr) {
    access_log_->info(
        AccessLine(exchange, metrics::CurrentLogFormat() == metrics::LogFormat::kJson));
  }
}

std::string HttpTelemetry::AccessLine(const http::Exchange& exchange, bool json) {
  const http::Request& request = exchange.request;
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string path = http::LoggablePath(request);
  std::string route = RouteLabel(exchange);
  double seconds = Seconds(exchange.elapsed);
  using metrics::JsonString;
  if (json) {
    return absl::StrCat(R"({"time":")", time, R"(","type":"access","remote":)",
                        JsonString(request.remote_address), R"(,"method":)",
                        JsonString(request.method), R"(,"path":)", JsonString(path), R"(,"route":)",
                        JsonString(route), R"(,"status":)", exchange.status, R"(,"bytes":)",
                        exchange.body_bytes, R"(,"duration_s":)", seconds, R"(,"completed":)",
                        exchange.completed ? "true" : "false", R"(,"user_agent":)",
                        JsonString(UserAgent(request)), "}");
  }
  // The path and agent are quoted (JSON string rules), so a crafted one
  // cannot forge a second line.
  return absl::StrCat(time, " access ",
                      request.remote_address.empty() ? "-" : request.remote_address, " ",
                      JsonString(request.method + " " + path), " ", exchange.status, " ",
                      exchange.body_bytes, " ", seconds, "s ", route,
                      exchange.completed ? "" : " incomplete", " ", JsonString(UserAgent(request)));
}

}  // namespace dvs::web
