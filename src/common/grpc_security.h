// The gRPC side of the cluster credential and TLS (DESIGN §6, §7): checking
// `authorization: Bearer <token>` on a server, adding it on a client, and the
// server and channel credentials (TLS when given certificates, plaintext
// otherwise). Only gRPC code includes this.
//
// The bearer check runs at the top of each handler (BearerCheck::Check): a
// gRPC AuthMetadataProcessor would do it once per call, but gRPC takes one
// only on TLS ports, and its server interceptors cannot refuse a call.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::common {

// The token a server wants on every call. Immutable, thread-safe.
class BearerCheck {
 public:
  // `token` empty: every call is allowed. `what` names the token in the
  // refusal ("cluster token", "admin token").
  BearerCheck(std::string_view token, std::string what);

  bool required() const { return !expected_header_.empty(); }
  // OK, or UNAUTHENTICATED "missing or wrong <what>". Compares in constant
  // time (ConstantTimeEquals).
  grpc::Status Check(const grpc::ServerContextBase& context) const;

 private:
  std::string expected_header_;  // "Bearer <token>"; empty: none wanted
  std::string what_;
};

// Adds `authorization: Bearer <token>` to a call; nothing when `token` is empty.
void AddBearer(grpc::ClientContext& context, std::string_view token);

// TLS with the PEM files `cert_file` and `key_file`, or plaintext when both
// are empty. InvalidArgument when only one is given or a file cannot be read.
[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const std::filesystem::path& cert_file, const std::filesystem::path& key_file);

// TLS trusting only the CA certificates in `ca_pem`, or plaintext when it is
// empty.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const std::string& ca_pem);

}  // namespace dvs::common
