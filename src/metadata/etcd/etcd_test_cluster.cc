#include "metadata/etcd/etcd_test_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dvs::metadata {
namespace {

constexpr char kEtcdBinary[] = "/usr/bin/etcd";

// Binds port 0 and keeps the socket open so later picks differ; the caller
// closes them all just before etcd binds (a small, accepted race).
int PickPort(std::vector<int>& open_sockets) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) std::abort();
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  open_sockets.push_back(fd);
  return ntohs(address.sin_port);
}

std::string Url(int port) { return absl::StrCat("http://127.0.0.1:", port); }

}  // namespace

EtcdTestCluster::EtcdTestCluster(int members) {
  std::string pattern = (std::filesystem::temp_directory_path() / "etcd-cluster-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  dir_ = pattern;
  std::vector<int> sockets;
  for (int i = 0; i < members; ++i) {
    members_.push_back({absl::StrCat("m", i), PickPort(sockets), PickPort(sockets)});
  }
  for (int fd : sockets) close(fd);
}

EtcdTestCluster::~EtcdTestCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> EtcdTestCluster::CommandLine(const Member& member) const {
  std::vector<std::string> peers;
  for (const Member& m : members_) peers.push_back(absl::StrCat(m.name, "=", Url(m.peer_port)));
  // Short heartbeats and elections: a killed leader is replaced in about a
  // second instead of the default several.
  return {kEtcdBinary,
          absl::StrCat("--name=", member.name),
          absl::StrCat("--data-dir=", (dir_ / member.name).string()),
          absl::StrCat("--listen-client-urls=", Url(member.client_port)),
          absl::StrCat("--advertise-client-urls=", Url(member.client_port)),
          absl::StrCat("--listen-peer-urls=", Url(member.peer_port)),
          absl::StrCat("--initial-advertise-peer-urls=", Url(member.peer_port)),
          absl::StrCat("--initial-cluster=", absl::StrJoin(peers, ",")),
          "--initial-cluster-state=new",
          absl::StrCat("--initial-cluster-token=", dir_.filename().string()),
          "--heartbeat-interval=50",
          "--election-timeout=500"};
}

absl::Status EtcdTestCluster::Spawn(int index) {
  Member& member = members_[index];
  std::vector<std::string> args = CommandLine(member);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string log = (dir_ / (member.name + ".log")).string();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  member.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdTestCluster::Start() {
  if (access(kEtcdBinary, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kEtcdBinary, " is missing: apt-get install etcd-server"));
  }
  for (int i = 0; i < size(); ++i) {
    if (absl::Status spawned = Spawn(i); !spawned.ok()) return spawned;
  }
  return WaitHealthy(std::chrono::seconds(20));
}

void EtcdTestCluster::Kill(int member) {
  pid_t& pid = members_[member].pid;
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

absl::Status EtcdTestCluster::Restart(int member) {
  Kill(member);
  return Spawn(member);
}

absl::Status EtcdTestCluster::WaitHealthy(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  absl::Status last = absl::DeadlineExceededError("not checked");
  while (std::chrono::steady_clock::now() < deadline) {
    last = absl::OkStatus();
    for (int i = 0; i < size() && last.ok(); ++i) {
      if (members_[i].pid <= 0) continue;
      absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(
          {ClientEndpoint(i)}, {.call_timeout = std::chrono::milliseconds(500), .max_attempts = 1});
      last = client.ok() ? (*client)->Get("/health").status() : client.status();
    }
    if (last.ok()) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("etcd cluster in ", dir_.string(), " not healthy: ", last.message()));
}

std::string EtcdTestCluster::ClientEndpoint(int member) const {
  return absl::StrCat("127.0.0.1:", members_[member].client_port);
}

std::vector<std::string> EtcdTestCluster::ClientEndpoints() const {
  std::vector<std::string> endpoints;
  for (int i = 0; i < size(); ++i) endpoints.push_back(ClientEndpoint(i));
  return endpoints;
}

std::shared_ptr<EtcdClient> EtcdTestCluster::NewClient(EtcdClient::Options options) const {
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(ClientEndpoints(), options);
  if (!client.ok()) std::abort();
  return std::move(*client);
}

}  // namespace dvs::metadata
