#include "web/status_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dvs::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

content::ClusterStatus TwoNodes() {
  content::ClusterStatus status;
  status.ring.epoch = 3;
  status.ring.nodes = {"127.0.0.1:8090", "127.0.0.1:8091"};
  status.ring.replicas = 2;
  status.ring.vnodes = 128;
  status.nodes.push_back({.address = "127.0.0.1:8090",
                          .healthy = true,
                          .bytes_used = 3 << 20,
                          .bytes_free = 5ull << 30,
                          .blob_count = 12});
  status.nodes.push_back(
      {.address = "127.0.0.1:8091", .healthy = false, .error = "connection <refused>"});
  return status;
}

jobs::JobRecord Job(std::string id, jobs::JobState state) {
  jobs::JobRecord job;
  job.video_id = std::move(id);
  job.state = state;
  return job;
}

TEST(StatusPageTest, ShowsTheRingEachNodeAndTheJobsInFlight) {
  std::vector<jobs::JobRecord> all = {
      Job("a", jobs::JobState::kRunning), Job("b", jobs::JobState::kQueued),
      Job("c", jobs::JobState::kQueued), Job("done-one", jobs::JobState::kDone)};
  std::string body = StatusPageBody(TwoNodes(), true, all);
  EXPECT_THAT(body, HasSubstr("epoch 3, 2 nodes, 2 replicas"));
  EXPECT_THAT(body, HasSubstr("<td>127.0.0.1:8090</td><td>up</td><td>3.0 MiB</td><td>5.0 GiB"));
  EXPECT_THAT(body, HasSubstr("down: connection &lt;refused&gt;"));
  EXPECT_THAT(body, HasSubstr("1 running, 2 queued"));
  EXPECT_THAT(body, Not(HasSubstr("done-one")));
}

TEST(StatusPageTest, SaysWhatCouldNotBeRead) {
  std::string body = StatusPageBody(absl::UnavailableError("etcd <away>"), true,
                                    absl::UnavailableError("no jobs"));
  EXPECT_THAT(body, HasSubstr("cannot read the cluster: etcd &lt;away&gt;"));
  EXPECT_THAT(body, HasSubstr("cannot read the jobs: no jobs"));
  EXPECT_THAT(StatusPageBody(absl::UnavailableError("x"), false, std::vector<jobs::JobRecord>{}),
              HasSubstr("no ring"));
}

}  // namespace
}  // namespace dvs::web
