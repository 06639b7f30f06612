#include "http/router.h"

#include <gtest/gtest.h>

namespace dvs::http {
namespace {

Handler Returns(std::string body) {
  return [body](Request&) { return Response::Text(200, body); };
}

std::string Call(const Router::Match& match) {
  Request request;
  return match.route->handler(request).body;
}

Router MakeRouter() {
  Router router;
  router.Add("GET", "/", Returns("root"));
  router.Add("GET", "/videos/:id", Returns("video"));
  router.Add("DELETE", "/api/videos/:id", Returns("delete"));
  router.Add("GET", "/content/:id/:file", Returns("content"));
  router.AddStreaming("POST", "/upload", [](Request&) -> absl::StatusOr<std::unique_ptr<BodySink>> {
    return absl::UnimplementedError("test");
  });
  return router;
}

TEST(RouterTest, MatchesLiteralAndCapturesDecodedSegments) {
  Router router = MakeRouter();
  Router::Match match = router.Find("GET", "/content/abc/seg%201.m4s");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(Call(match), "content");
  EXPECT_EQ(match.params, (std::vector<std::string>{"abc", "seg 1.m4s"}));
}

TEST(RouterTest, MatchKeepsThePatternOfTheRoute) {
  Router router = MakeRouter();
  Router::Match match = router.Find("GET", "/content/a%2Fb/manifest.mpd");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->pattern, "/content/:id/:file");
  EXPECT_EQ(router.Find("POST", "/upload").route->pattern, "/upload");
}

TEST(RouterTest, LoggablePathHidesSignaturesAndTheQuery) {
  Request request;
  request.path = "/play/v1/1700000000000/c2lnbmF0dXJl/chunk-1.m4s";
  request.query = "token=secret";
  EXPECT_EQ(LoggablePath(request), request.path);  // no route matched: nothing to hide by name
  request.route = "/play/:id/:expires/:sig/:file";
  EXPECT_EQ(LoggablePath(request), "/play/v1/1700000000000/REDACTED/chunk-1.m4s");
  request.path = "/play/v1/x";  // cannot happen for a match, but never leaks
  EXPECT_EQ(LoggablePath(request), "REDACTED");
}

TEST(RouterTest, CaptureMayDecodeToAnything) {
  Router router = MakeRouter();
  Router::Match match = router.Find("GET", "/videos/..%2F..%2Fetc");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.params, (std::vector<std::string>{"../../etc"}));
}

TEST(RouterTest, RootMatchesOnlyRoot) {
  Router router = MakeRouter();
  Router::Match root = router.Find("GET", "/");
  ASSERT_NE(root.route, nullptr);
  EXPECT_EQ(Call(root), "root");
  EXPECT_TRUE(root.params.empty());
  EXPECT_EQ(router.Find("GET", "").route, nullptr);
  EXPECT_EQ(router.Find("GET", "//").route, nullptr);
}

TEST(RouterTest, TrailingSlashAndEmptySegmentsDoNotMatch) {
  Router router = MakeRouter();
  EXPECT_EQ(router.Find("GET", "/videos/abc/").route, nullptr);
  EXPECT_EQ(router.Find("GET", "/videos/").route, nullptr);
  EXPECT_EQ(router.Find("GET", "/videos//abc").route, nullptr);
  EXPECT_EQ(router.Find("GET", "//videos/abc").route, nullptr);
  EXPECT_EQ(router.Find("GET", "/content/a//").route, nullptr);
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router router = MakeRouter();
  Router::Match match = router.Find("GET", "/nope");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_FALSE(match.method_not_allowed);
  EXPECT_EQ(router.Find("GET", "videos/abc").route, nullptr);
}

TEST(RouterTest, OtherMethodOnAKnownPathIsMethodNotAllowed) {
  Router router = MakeRouter();
  Router::Match match = router.Find("POST", "/videos/abc");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_TRUE(match.method_not_allowed);
  EXPECT_TRUE(router.Find("GET", "/api/videos/x").method_not_allowed);
}

TEST(RouterTest, HeadMatchesGetRoutes) {
  Router router = MakeRouter();
  Router::Match match = router.Find("HEAD", "/videos/abc");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->method, "GET");
  EXPECT_EQ(match.params, (std::vector<std::string>{"abc"}));
  EXPECT_TRUE(router.Find("HEAD", "/api/videos/x").method_not_allowed);
}

TEST(RouterTest, AnExplicitHeadRouteWinsOverGet) {
  Router router;
  router.Add("GET", "/x", Returns("get"));
  router.Add("HEAD", "/x", Returns("head"));
  EXPECT_EQ(Call(router.Find("HEAD", "/x")), "head");
}

TEST(RouterTest, MethodsAreCaseSensitive) {
  Router router = MakeRouter();
  EXPECT_EQ(router.Find("get", "/").route, nullptr);
}

TEST(RouterTest, StreamingRoutesCarryTheirFactory) {
  Router router = MakeRouter();
  Router::Match match = router.Find("POST", "/upload");
  ASSERT_NE(match.route, nullptr);
  EXPECT_TRUE(static_cast<bool>(match.route->sink_factory));
  EXPECT_FALSE(static_cast<bool>(match.route->handler));
  EXPECT_TRUE(router.Find("GET", "/upload").method_not_allowed);
}

TEST(RouterTest, FirstMatchingRouteWins) {
  Router router;
  router.Add("GET", "/videos/new", Returns("literal"));
  router.Add("GET", "/videos/:id", Returns("capture"));
  EXPECT_EQ(Call(router.Find("GET", "/videos/new")), "literal");
  EXPECT_EQ(Call(router.Find("GET", "/videos/old")), "capture");
}

}  // namespace
}  // namespace dvs::http
