// EtcdClient against a real etcd with auth enabled (etcdctl user add root,
// auth enable): the right password works, a wrong one or none is refused
// with a clear error, and a token etcd no longer knows is replaced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "metadata/etcd/etcd_client.h"
#include "metadata/etcd/etcd_test_cluster.h"

namespace dvs::metadata {
namespace {

using ::testing::HasSubstr;

constexpr char kPassword[] = "s3cret-pw";

class EtcdAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start().ok());
    Etcdctl({"user", "add", std::string("root:") + kPassword});
    // etcd 3.4 wants the root role granted before auth can be enabled; later
    // versions grant it with the user. Either way the role is there.
    (void)RunEtcdctl({"user", "grant-role", "root", "root"});
    Etcdctl({"auth", "enable"});
  }

  absl::StatusOr<common::SubprocessResult> RunEtcdctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"etcdctl", "--endpoints=" + cluster_.ClientEndpoint(0)});
    return common::RunSubprocess({.argv = args, .time_limit = std::chrono::seconds(20)});
  }
  void Etcdctl(std::vector<std::string> args) {
    absl::StatusOr<common::SubprocessResult> result = RunEtcdctl(args);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << "etcdctl " << args[0] << " " << args[1] << ": "
                              << result->stderr_tail;
  }
  std::shared_ptr<EtcdClient> Client(std::string user, std::string password) {
    EtcdClient::Options options;
    options.user = std::move(user);
    options.password = std::move(password);
    return cluster_.NewClient(options);
  }

  EtcdTestCluster cluster_{1};
};

TEST_F(EtcdAuthTest, RightPasswordReadsAndWrites) {
  std::shared_ptr<EtcdClient> client = Client("root", kPassword);
  ASSERT_TRUE(client->Put("/auth/k", "v").ok());
  absl::StatusOr<std::optional<EtcdClient::Value>> value = client->Get("/auth/k");
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ((*value)->value, "v");
}

TEST_F(EtcdAuthTest, WrongPasswordIsAClearError) {
  absl::Status status = Client("root", "not-the-password")->Put("/auth/k", "forged");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("etcd refused the login of user \"root\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr("--etcd-password"));
  // Nothing was written.
  absl::StatusOr<std::optional<EtcdClient::Value>> value =
      Client("root", kPassword)->Get("/auth/k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_FALSE(value->has_value());
}

TEST_F(EtcdAuthTest, ClientWithoutAUserIsRefused) {
  absl::Status status = Client("", "")->Put("/auth/k", "v");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("user name is empty"));
}

TEST_F(EtcdAuthTest, TokenEtcdNoLongerKnowsIsReplaced) {
  std::shared_ptr<EtcdClient> client = Client("root", kPassword);
  ASSERT_TRUE(client->Put("/auth/k", "before").ok());
  // Turning auth off and on drops every token etcd gave (as a restart of the
  // member that made it does): the client's is now "invalid auth token".
  Etcdctl({"--user", std::string("root:") + kPassword, "auth", "disable"});
  Etcdctl({"auth", "enable"});
  absl::Status status = client->Put("/auth/k", "after");
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(client->Get("/auth/k").value()->value, "after");
}

}  // namespace
}  // namespace dvs::metadata
