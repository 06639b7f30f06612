#include "http/message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dvs::http {
namespace {

TEST(HeadersTest, GetIgnoresNameCase) {
  Headers headers;
  headers.Add("Content-Type", "text/plain");
  EXPECT_EQ(headers.Get("content-type"), "text/plain");
  EXPECT_EQ(headers.Get("CONTENT-TYPE"), "text/plain");
  EXPECT_FALSE(headers.Get("Content-Length").has_value());
}

TEST(HeadersTest, SetReplacesEveryFieldOfThatName) {
  Headers headers;
  headers.Add("X-A", "1");
  headers.Add("Other", "x");
  headers.Add("x-a", "2");
  headers.Set("X-a", "3");
  ASSERT_EQ(headers.fields().size(), 2u);
  EXPECT_EQ(headers.fields()[0].first, "Other");
  EXPECT_EQ(headers.Get("x-A"), "3");
}

TEST(HeadersTest, AddKeepsOrderAndDuplicates) {
  Headers headers;
  headers.Add("Set-Cookie", "a=1");
  headers.Add("Set-Cookie", "b=2");
  ASSERT_EQ(headers.fields().size(), 2u);
  EXPECT_EQ(headers.Get("set-cookie"), "a=1");
  EXPECT_EQ(headers.fields()[1].second, "b=2");
}

TEST(RequestTest, QueryParamDecodesPercentAndPlus) {
  Request request;
  request.query = "q=hello+world%21&empty=&flag&name%20x=a%2Bb";
  EXPECT_EQ(request.QueryParam("q"), "hello world!");
  EXPECT_EQ(request.QueryParam("empty"), "");
  EXPECT_EQ(request.QueryParam("flag"), "");
  EXPECT_EQ(request.QueryParam("name x"), "a+b");
  EXPECT_FALSE(request.QueryParam("missing").has_value());
}

TEST(RequestTest, QueryParamReturnsTheFirstOfRepeatedNames) {
  Request request;
  request.query = "a=1&a=2";
  EXPECT_EQ(request.QueryParam("a"), "1");
}

TEST(RequestTest, WantsJsonForApiPathsAndJsonAccept) {
  Request api;
  api.path = "/api/videos";
  EXPECT_TRUE(api.WantsJson());

  Request page;
  page.path = "/videos/x";
  EXPECT_FALSE(page.WantsJson());
  page.headers.Add("Accept", "text/html, Application/JSON;q=0.9");
  EXPECT_TRUE(page.WantsJson());

  Request apiish;
  apiish.path = "/apix";
  EXPECT_FALSE(apiish.WantsJson());
}

TEST(ResponseTest, FactoriesSetStatusTypeAndBody) {
  Response text = Response::Text(201, "hi");
  EXPECT_EQ(text.status, 201);
  EXPECT_EQ(text.body, "hi");
  EXPECT_EQ(text.headers.Get("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(Response::Html(200, "<p>").headers.Get("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(Response::Json(200, "{}").headers.Get("Content-Type"), "application/json");
  Response redirect = Response::Redirect(303, "/videos/a");
  EXPECT_EQ(redirect.status, 303);
  EXPECT_EQ(redirect.headers.Get("Location"), "/videos/a");
}

TEST(ResponseTest, ErrorIsJsonForApiClients) {
  Request request;
  request.path = "/api/videos/x";
  Response response = Response::Error(request, absl::NotFoundError("no \"x\"\n here"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  nlohmann::json json = nlohmann::json::parse(response.body);
  EXPECT_EQ(json["error"], "no \"x\"\n here");
}

TEST(ResponseTest, ErrorIsAnEscapedPageForBrowsers) {
  Request request;
  request.path = "/videos/x";
  Response response = Response::Error(request, absl::InvalidArgumentError("<script>&'"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(response.body.find("&lt;script&gt;&amp;&#39;"), std::string::npos);
  EXPECT_EQ(response.body.find("<script>"), std::string::npos);
}

TEST(ResponseTest, ErrorMapsCodesToHttpStatuses) {
  Request request;
  EXPECT_EQ(Response::Error(request, absl::AlreadyExistsError("x")).status, 409);
  EXPECT_EQ(Response::Error(request, absl::UnavailableError("x")).status, 503);
  EXPECT_EQ(Response::Error(request, absl::InternalError("x")).status, 500);
}

TEST(ResponseTest, ErrorResponseUsesTheGivenStatus) {
  Request request;
  request.headers.Add("Accept", "application/json");
  Response response = ErrorResponse(request, 405, "method not allowed");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"], "method not allowed");
}

TEST(PercentDecodeTest, DecodesValidEscapesAndKeepsInvalidOnes) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%e2%82%ac"), "\xE2\x82\xAC");
  EXPECT_EQ(PercentDecode("%00x"), std::string("\0x", 2));
}

TEST(PercentDecodeTest, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", /*plus_is_space=*/true), "a b");
  EXPECT_EQ(PercentDecode("a%2Bb", /*plus_is_space=*/true), "a+b");
}

TEST(HtmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

}  // namespace
}  // namespace dvs::http
