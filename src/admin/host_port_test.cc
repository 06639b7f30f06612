#include "admin/host_port.h"

#include "gtest/gtest.h"

namespace dvs::admin {
namespace {

TEST(HostPortTest, ParsesNamesIpv4AndBracketedIpv6) {
  absl::StatusOr<HostPort> name = ParseHostPort("storage-1.local:8090");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "storage-1.local");
  EXPECT_EQ(name->port, 8090);

  absl::StatusOr<HostPort> v6 = ParseHostPort("[::1]:8081");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8081);
}

TEST(HostPortTest, RefusesWhatIsNotHostColonPort) {
  for (const char* bad : {"", "localhost", "localhost:", ":8090", "localhost:0", "localhost:65536",
                          "localhost:+80", "localhost:80x", "::1:8090", "[::1]8090", "[nope]:80",
                          "a/b:80", "a b:80", "dns:///localhost:80"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

TEST(HostPortTest, PortZeroOnlyWhenAllowed) {
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0").ok());
  EXPECT_TRUE(ParseHostPort("127.0.0.1:0", /*allow_port_zero=*/true).ok());
}

TEST(HostPortTest, JoinBracketsIpv6) {
  EXPECT_EQ(JoinHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(JoinHostPort("localhost", 80), "localhost:80");
}

TEST(HostPortTest, OnlyLoopbackAddressesAreLoopback) {
  for (const char* loopback : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(loopback)) << loopback;
  }
  for (const char* remote :
       {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com", "localhost.example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(remote)) << remote;
  }
}

}  // namespace
}  // namespace dvs::admin
