#include "access/http_rules.h"

#include "gtest/gtest.h"

namespace dvs::access {
namespace {

SiteRules Rules(std::string listen_host, std::string public_url = "") {
  SiteRules rules{.listen_host = std::move(listen_host)};
  if (!public_url.empty()) rules.public_url = ParsePublicUrl(public_url).value();
  return rules;
}

TEST(HostRulesTest, LocalNamesAndAddressesAreOurs) {
  SiteRules rules = Rules("127.0.0.1");
  for (const char* host : {"127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080",
                           "192.0.2.10:8080", "[fe80::1]"}) {
    EXPECT_TRUE(HostAllowed(host, rules)) << host;
  }
}

TEST(HostRulesTest, ForeignNamesAreRefused) {
  SiteRules rules = Rules("127.0.0.1", "https://videos.example.org");
  for (const char* host :
       {"attacker.example", "attacker.example:8080", "", "  ", "videos.example.org.evil",
        "localhost.evil.example", "a b", "[::1", "127.0.0.1:80x", "1.2.3.4.5", "999.1.1.1"}) {
    EXPECT_FALSE(HostAllowed(host, rules)) << host;
  }
}

TEST(HostRulesTest, ThePublicUrlsHostAndANamedListenHostAreOurs) {
  SiteRules rules = Rules("media.lan", "https://Videos.Example.org:8443/base");
  EXPECT_TRUE(HostAllowed("videos.example.org", rules));
  EXPECT_TRUE(HostAllowed("videos.example.org:8443", rules));
  EXPECT_TRUE(HostAllowed("media.lan:8080", rules));
  EXPECT_FALSE(HostAllowed("other.lan:8080", Rules("0.0.0.0")));
}

TEST(PublicUrlTest, ParsesItsOriginAndRefusesOtherSchemes) {
  absl::StatusOr<PublicUrl> url = ParsePublicUrl("https://videos.example.org/dvs");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https());
  EXPECT_EQ(url->host, "videos.example.org");
  EXPECT_EQ(url->origin, "https://videos.example.org");
  EXPECT_EQ(ParsePublicUrl("http://[::1]:8080")->origin, "http://[::1]:8080");
  EXPECT_EQ(ParsePublicUrl("https://x.org:443")->origin, "https://x.org");
  EXPECT_FALSE(ParsePublicUrl("ftp://x.org").ok());
  EXPECT_FALSE(ParsePublicUrl("https://").ok());
  EXPECT_FALSE(ParsePublicUrl("https://user@x.org").ok());
}

TEST(SameOriginTest, SecFetchSiteDecidesWhenPresent) {
  SiteRules rules = Rules("127.0.0.1");
  EXPECT_TRUE(CheckSameOrigin("same-origin", std::nullopt, "127.0.0.1:8080", rules).ok());
  EXPECT_TRUE(CheckSameOrigin("none", std::nullopt, "127.0.0.1:8080", rules).ok());
  // Even with an Origin that looks like ours, a cross-site fetch is refused.
  absl::Status cross =
      CheckSameOrigin("cross-site", "http://127.0.0.1:8080", "127.0.0.1:8080", rules);
  EXPECT_EQ(cross.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(cross.message().find("cross-site"), absl::string_view::npos);
  EXPECT_FALSE(CheckSameOrigin("same-site", std::nullopt, "127.0.0.1:8080", rules).ok());
}

TEST(SameOriginTest, OriginMustBeOursWithoutSecFetchSite) {
  SiteRules rules = Rules("127.0.0.1", "https://videos.example.org");
  EXPECT_TRUE(CheckSameOrigin(std::nullopt, "http://127.0.0.1:8080", "127.0.0.1:8080", rules).ok());
  EXPECT_TRUE(
      CheckSameOrigin(std::nullopt, "https://videos.example.org", "videos.example.org", rules)
          .ok());
  for (const char* origin : {"https://evil.example", "null", "http://127.0.0.1:9999",
                             "http://127.0.0.1:8080.evil.example"}) {
    EXPECT_EQ(CheckSameOrigin(std::nullopt, origin, "127.0.0.1:8080", rules).code(),
              absl::StatusCode::kPermissionDenied)
        << origin;
  }
  // No browser header at all: curl or a script, which no other site can drive.
  EXPECT_TRUE(CheckSameOrigin(std::nullopt, std::nullopt, "127.0.0.1:8080", rules).ok());
}

TEST(CredentialsTest, BearerAndBasicAreRead) {
  EXPECT_EQ(BearerToken("Bearer dvs_abc"), "dvs_abc");
  EXPECT_EQ(BearerToken("bearer   dvs_abc "), "dvs_abc");
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("Basic xyz").has_value());
  auto basic = BasicCredentials("Basic YWRtaW46czNjcjN0OnBhc3M=");  // admin:s3cr3t:pass
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->first, "admin");
  EXPECT_EQ(basic->second, "s3cr3t:pass");
  EXPECT_FALSE(BasicCredentials("Basic !!!notbase64").has_value());
  EXPECT_FALSE(BasicCredentials("Basic YWRtaW4=").has_value());  // no colon
}

TEST(CredentialsTest, CookieValuesAreFoundByName) {
  EXPECT_EQ(CookieValue("a=1; dvs_session=dvs_x; b=2", "dvs_session"), "dvs_x");
  EXPECT_EQ(CookieValue("dvs_session=\"q\"", "dvs_session"), "q");
  EXPECT_FALSE(CookieValue("xdvs_session=1; other=2", "dvs_session").has_value());
  EXPECT_FALSE(CookieValue("", "dvs_session").has_value());
}

TEST(SafeLocalPathTest, OnlyLocalPathsAreKept) {
  EXPECT_EQ(SafeLocalPath("/videos/clip"), "/videos/clip");
  for (const char* next : {"", "//evil.example", "https://evil.example", "/\\evil.example",
                           "javascript:alert(1)", "/a\r\nSet-Cookie: x"}) {
    EXPECT_EQ(SafeLocalPath(next), "/") << next;
  }
}

TEST(MethodTest, OnlyWritesChangeState) {
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"})
    EXPECT_TRUE(IsStateChanging(method));
  for (const char* method : {"GET", "HEAD", "OPTIONS"}) EXPECT_FALSE(IsStateChanging(method));
}

}  // namespace
}  // namespace dvs::access
