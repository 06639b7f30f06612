// A request target as the server splits it, routed over the web app's route
// shapes, with its query read and an error response made from its captures.
// Captures are percent-decoded single segments, decoding never grows the
// text, and escaping for HTML leaves no markup characters.
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "http/message.h"
#include "http/router.h"

namespace {

using dvs::fuzz::Check;

using dvs::http::Request;
using dvs::http::Response;
using dvs::http::Router;

Router AppShapedRouter() {
  Router router;
  auto ok = [](Request&) { return Response::Text(200, "ok"); };
  for (const char* pattern : {"/", "/videos/:id", "/content/:id/:file", "/api/videos",
                              "/api/videos/:id", "/static/:file", "/healthz"}) {
    router.Add("GET", pattern, ok);
  }
  router.Add("DELETE", "/api/videos/:id", ok);
  router.AddStreaming("POST", "/upload", [](Request&) {
    return absl::StatusOr<std::unique_ptr<dvs::http::BodySink>>(nullptr);
  });
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Router router = AppShapedRouter();
  Request request;
  request.target.assign(reinterpret_cast<const char*>(data), size);
  size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);

  for (const char* method : {"GET", "HEAD", "DELETE", "POST"}) {
    Router::Match match = router.Find(method, request.path);
    if (match.route == nullptr) continue;
    size_t captures = 0;
    for (const std::string& segment : match.route->segments) captures += segment.starts_with(':');
    Check(match.params.size() == captures);
    for (const std::string& param : match.params) {
      Check(!param.empty() && param.size() <= request.path.size());
      std::string escaped = dvs::http::HtmlEscape(param);
      Check(escaped.find_first_of("<>\"'") == std::string::npos);
      Response error = dvs::http::ErrorResponse(request, 400, param);
      Check(error.status == 400 && !error.body.empty());
    }
  }
  Check(dvs::http::PercentDecode(request.path).size() <= request.path.size());
  for (const char* name : {"wait", "", "a b"}) {
    std::optional<std::string> value = request.QueryParam(name);
    if (value) Check(value->size() <= request.query.size());
  }
  (void)request.WantsJson();
  return 0;
}
