// AdminServer: the admin port (DESIGN §7) — tritontube.VideoContentAdminService
// and dvs.admin.v1.Admin on one gRPC server, over a ClusterAdmin. `dvs web`
// runs one in `nw` mode on ADMIN_HOST:PORT.
//
// It listens only on a loopback address (localhost, 127.0.0.0/8, ::1) unless
// `allow_remote` is set, which needs a token; with `token` set, every call
// needs `authorization: Bearer <token>`. With a certificate and key, TLS.
//
// Thread-safe. No gRPC in this header, so the web module can include it
// cheaply.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "content/network/cluster_admin.h"

namespace dvs::admin {

struct AdminServerOptions {
  std::string host = "127.0.0.1";
  int port = 8081;  // 0 picks a free port
  // Listen on a non-loopback address (the flag --admin-allow-remote).
  bool allow_remote = false;
  // Empty: no token needed (loopback only: allow_remote needs a token).
  std::string token;
  // PEM files: TLS when both are set, plaintext when neither is.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Calls handled at once; a ring change holds one thread while it runs.
  int max_threads = 16;
};

class AdminServer {
 public:
  // `cluster` must outlive the server.
  AdminServer(content::ClusterAdmin& cluster, AdminServerOptions options);
  // Stops (if running) with the default grace.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Starts listening. InvalidArgument for a bad port, a non-loopback host
  // without allow_remote, allow_remote without a token, only one of the TLS
  // files, or one that cannot be read; Unavailable when the address cannot be bound;
  // FailedPrecondition when already started.
  [[nodiscard]] absl::Status Start();
  // The bound port (the real one when options.port was 0); 0 before Start().
  int port() const;
  // "host:port" with the bound port, as clients dial it.
  std::string address() const;
  // Stops taking calls, waits up to `grace` for calls in flight and then
  // cancels them. A ring change in progress is not interrupted: Stop() returns
  // only after it finished, so the ring is never left half-changed by us.
  // Idempotent; a no-op before Start().
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dvs::admin
