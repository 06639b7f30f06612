#include "http/router.h"

#include <optional>

#include "http/text.h"

namespace dvs::http {
namespace {

// "/a/b" → {"a", "b"}; "/" → {""}. Empty segments are kept so that "/a/" and
// "/a//b" do not match "/a" or "/a/b".
std::optional<std::vector<std::string_view>> SplitPath(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  return internal::Split(path.substr(1), "/");
}

// The decoded captures when `segments` match `pattern`, else nullopt.
std::optional<std::vector<std::string>> MatchSegments(
    const std::vector<std::string>& pattern, const std::vector<std::string_view>& segments) {
  if (pattern.size() != segments.size()) return std::nullopt;
  std::vector<std::string> params;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& expected = pattern[i];
    if (!expected.empty() && expected.front() == ':') {
      if (segments[i].empty()) return std::nullopt;
      params.push_back(PercentDecode(segments[i]));
    } else if (expected != segments[i]) {
      return std::nullopt;
    }
  }
  return params;
}

Router::Route MakeRoute(std::string method, std::string_view pattern) {
  Router::Route route;
  route.method = std::move(method);
  route.pattern = std::string(pattern);
  std::optional<std::vector<std::string_view>> segments = SplitPath(pattern);
  if (segments) route.segments.assign(segments->begin(), segments->end());
  return route;
}

}  // namespace

std::string LoggablePath(const Request& request) {
  if (request.route.find("/:sig") == std::string_view::npos) return request.path;
  std::optional<std::vector<std::string_view>> pattern = SplitPath(request.route);
  std::optional<std::vector<std::string_view>> segments = SplitPath(request.path);
  if (!pattern || !segments || pattern->size() != segments->size()) return "REDACTED";
  std::string path;
  for (size_t i = 0; i < segments->size(); ++i) {
    path += '/';
    path += (*pattern)[i] == ":sig" ? std::string_view("REDACTED") : (*segments)[i];
  }
  return path;
}

void Router::Add(std::string method, std::string_view pattern, Handler handler,
                 AtHandHandler at_hand) {
  Route route = MakeRoute(std::move(method), pattern);
  route.handler = std::move(handler);
  route.at_hand = std::move(at_hand);
  routes_.push_back(std::move(route));
}

void Router::AddStreaming(std::string method, std::string_view pattern, SinkFactory factory) {
  Route route = MakeRoute(std::move(method), pattern);
  route.sink_factory = std::move(factory);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match result;
  std::optional<std::vector<std::string_view>> segments = SplitPath(path);
  if (!segments) return result;
  Match head_fallback;  // a GET route answering HEAD, used when no HEAD route exists
  for (const Route& route : routes_) {
    std::optional<std::vector<std::string>> params = MatchSegments(route.segments, *segments);
    if (!params) continue;
    if (route.method == method) {
      result.route = &route;
      result.params = std::move(*params);
      return result;
    }
    if (method == "HEAD" && route.method == "GET" && head_fallback.route == nullptr) {
      head_fallback.route = &route;
      head_fallback.params = std::move(*params);
    }
    result.method_not_allowed = true;
  }
  return head_fallback.route != nullptr ? head_fallback : result;
}

}  // namespace dvs::http
