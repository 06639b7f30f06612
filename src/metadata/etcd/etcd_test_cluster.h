// EtcdTestCluster: a real etcd cluster of local processes for tests, on free
// 127.0.0.1 ports with data in a temporary folder. Members can be killed with
// SIGKILL and restarted on their data. Everything is killed and removed when
// the cluster is destroyed (and the members die with the test process).
//
// Not thread-safe: drive it from the test's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "metadata/etcd/etcd_client.h"

namespace dvs::metadata {

class EtcdTestCluster {
 public:
  explicit EtcdTestCluster(int members = 3);
  ~EtcdTestCluster();
  EtcdTestCluster(const EtcdTestCluster&) = delete;
  EtcdTestCluster& operator=(const EtcdTestCluster&) = delete;

  // Starts every member and waits until each answers a linearizable read.
  [[nodiscard]] absl::Status Start();
  void Kill(int member);  // SIGKILL, then reaps it
  [[nodiscard]] absl::Status Restart(int member);
  // Until every running member answers a linearizable read (so the cluster
  // has a leader and quorum), or `timeout`.
  [[nodiscard]] absl::Status WaitHealthy(std::chrono::milliseconds timeout);

  int size() const { return static_cast<int>(members_.size()); }
  std::string ClientEndpoint(int member) const;
  std::vector<std::string> ClientEndpoints() const;
  // A client over every member's endpoint.
  std::shared_ptr<EtcdClient> NewClient(EtcdClient::Options options = {}) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };
  [[nodiscard]] absl::Status Spawn(int member);
  std::vector<std::string> CommandLine(const Member& member) const;

  std::filesystem::path dir_;
  std::vector<Member> members_;
};

}  // namespace dvs::metadata
