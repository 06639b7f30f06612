#include "admin/admin_cli.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>

#include "admin/admin_server.h"
#include "admin/admin_service.h"
#include "admin/fake_cluster_admin.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace dvs::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A loopback port that nothing listens on (bound, read, released).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ =
        std::make_unique<AdminServer>(cluster_, AdminServerOptions{.port = 0, .token = "t0k"});
    ASSERT_TRUE(server_->Start().ok());
  }

  Result Run(AdminCommand command) {
    if (command.server.empty()) command.server = server_->address();
    if (command.token.empty()) command.token = "t0k";
    std::ostringstream out;
    std::ostringstream err;
    int exit_code = RunAdminCommand(command, {out, err, /*err_is_terminal=*/false});
    return {exit_code, out.str(), err.str()};
  }

  FakeClusterAdmin cluster_{{"localhost:8090", "localhost:8091"}};
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminCliTest, ListPrintsOneNodePerLine) {
  Result result = Run({.action = "list"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_EQ(result.out, "localhost:8090\nlocalhost:8091\n");
  EXPECT_THAT(result.err, IsEmpty());
}

TEST_F(AdminCliTest, ListJsonIsOneObject) {
  Result result = Run({.action = "list", .json = true});
  ASSERT_EQ(result.exit_code, kExitOk);
  nlohmann::json parsed = nlohmann::json::parse(result.out);
  EXPECT_EQ(parsed["nodes"], nlohmann::json::array({"localhost:8090", "localhost:8091"}));
}

TEST_F(AdminCliTest, UnreachableServerFailsWithCannotReach) {
  std::string server = "127.0.0.1:" + std::to_string(UnusedPort());
  Result result = Run({.action = "list", .server = server});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("dvs admin: cannot reach " + server));
}

TEST_F(AdminCliTest, UnreachableServerFailsFastForAddToo) {
  std::string server = "127.0.0.1:" + std::to_string(UnusedPort());
  Result result = Run({.action = "add", .server = server, .node = "localhost:8092"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("cannot reach"));
}

TEST_F(AdminCliTest, MalformedNodeIsAUsageError) {
  Result result = Run({.action = "add", .node = "localhost"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("NODE"));
  EXPECT_EQ(cluster_.calls(), 0);
}

TEST_F(AdminCliTest, MissingNodeUnknownActionAndStrayNodeAreUsageErrors) {
  EXPECT_EQ(Run({.action = "remove"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({.action = "frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({.action = "list", .node = "localhost:8092"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({.action = "list", .server = "nowhere"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({.action = "list", .timeout_s = -1}).exit_code, kExitUsage);
}

TEST_F(AdminCliTest, AddingAPresentNodeFailsWithTheServersMessage) {
  Result result = Run({.action = "add", .node = "localhost:8090"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err,
              HasSubstr("dvs admin: storage node localhost:8090 is already in the ring"));
}

// UNAVAILABLE from the server (a storage node is down) is not "cannot reach".
TEST_F(AdminCliTest, StorageNodeUnavailableIsReportedAsTheServerSaysIt) {
  cluster_.FailNextChange(absl::UnavailableError("storage node localhost:8092 does not answer"));
  Result result = Run({.action = "add", .node = "localhost:8092"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_EQ(result.err, "dvs admin: storage node localhost:8092 does not answer\n");
}

TEST_F(AdminCliTest, RemovingTheLastNodeFails) {
  ASSERT_EQ(Run({.action = "remove", .node = "localhost:8091"}).exit_code, kExitOk);
  Result result = Run({.action = "remove", .node = "localhost:8090"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("cannot remove the last node"));
}

TEST_F(AdminCliTest, AddShowsProgressLinesAndTheMigratedCount) {
  Result result = Run({.action = "add", .node = "localhost:8092"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_EQ(result.out, "added localhost:8092: 7 files migrated\n");
  EXPECT_THAT(result.err, HasSubstr("adding localhost:8092: copying"));
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("\r")));  // no bar off a terminal
}

TEST_F(AdminCliTest, AddJsonCarriesTheMigratedCountAndErrorsAreJsonToo) {
  Result added = Run({.action = "add", .node = "localhost:8092", .json = true});
  ASSERT_EQ(added.exit_code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(added.out)["migrated_file_count"], 7);

  Result again = Run({.action = "add", .node = "localhost:8092", .json = true});
  ASSERT_EQ(again.exit_code, kExitFailure);
  EXPECT_EQ(nlohmann::json::parse(again.out)["error"]["code"], "ALREADY_EXISTS");
}

TEST_F(AdminCliTest, WrongTokenIsExplained) {
  Result result = Run({.action = "list", .token = "nope"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("missing or wrong admin token"));
  EXPECT_THAT(result.err, HasSubstr("DVS_ADMIN_TOKEN"));
}

TEST_F(AdminCliTest, StatusPrintsTheRingAndANodeTable) {
  Result result = Run({.action = "status"});
  ASSERT_EQ(result.exit_code, kExitOk);
  EXPECT_THAT(result.out, HasSubstr("ring epoch 4, 2 nodes, V=128, R=2, no change in progress"));
  EXPECT_THAT(result.out, HasSubstr("NODE"));
  EXPECT_THAT(result.out, HasSubstr("localhost:8090  ok"));
  EXPECT_THAT(result.out, HasSubstr("3.0 MiB"));
  EXPECT_THAT(result.out, HasSubstr("localhost:8091  DOWN    connection refused"));
}

TEST_F(AdminCliTest, StatusJsonParses) {
  Result result = Run({.action = "status", .json = true});
  ASSERT_EQ(result.exit_code, kExitOk);
  nlohmann::json parsed = nlohmann::json::parse(result.out);
  EXPECT_EQ(parsed["ring"]["epoch"], 4);
  EXPECT_TRUE(parsed["ring"]["transition"].is_null());
  EXPECT_EQ(parsed["nodes"][1]["healthy"], false);
}

TEST_F(AdminCliTest, RepairWithLostFilesFails) {
  cluster_.SetLostKeys({"clip/chunk-1.m4s"});
  Result result = Run({.action = "repair"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.out, HasSubstr("30 files checked"));
  EXPECT_THAT(result.out, HasSubstr("lost: clip/chunk-1.m4s"));
  EXPECT_THAT(result.err, HasSubstr("1 files have no healthy copy left"));
}

// A server with only the reference's API, as TritonTube's Go server is.
TEST(AdminCliFallbackTest, ListAndAddWorkAgainstTheReferenceApi) {
  FakeClusterAdmin cluster({"localhost:8090"});
  TritonTubeAdminService service(cluster, AdminToken());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  std::string address = "127.0.0.1:" + std::to_string(port);

  std::ostringstream out, err;
  EXPECT_EQ(RunAdminCommand({.action = "add", .server = address, .node = "localhost:8091"},
                            {out, err, false}),
            kExitOk);
  EXPECT_EQ(RunAdminCommand({.action = "list", .server = address}, {out, err, false}), kExitOk);
  EXPECT_EQ(out.str(), "added localhost:8091: 7 files migrated\nlocalhost:8090\nlocalhost:8091\n");
  server->Shutdown();
}

}  // namespace
}  // namespace dvs::admin
