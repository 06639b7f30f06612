#include "common/grpc_security.h"

#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/secrets.h"
#include "common/strings.h"

namespace dvs::common {
namespace {

constexpr char kAuthorizationKey[] = "authorization";  // gRPC lower-cases metadata keys
constexpr std::string_view kBearerPrefix = "Bearer ";

}  // namespace

BearerCheck::BearerCheck(std::string_view token, std::string what) : what_(std::move(what)) {
  if (!token.empty()) expected_header_ = absl::StrCat(AsAbsl(kBearerPrefix), AsAbsl(token));
}

grpc::Status BearerCheck::Check(const grpc::ServerContextBase& context) const {
  if (!required()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto [begin, end] = metadata.equal_range(kAuthorizationKey);
  for (auto it = begin; it != end; ++it) {
    std::string_view presented(it->second.data(), it->second.size());
    if (ConstantTimeEquals(presented, expected_header_)) return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, absl::StrCat("missing or wrong ", what_));
}

void AddBearer(grpc::ClientContext& context, std::string_view token) {
  if (token.empty()) return;
  context.AddMetadata(kAuthorizationKey, absl::StrCat(AsAbsl(kBearerPrefix), AsAbsl(token)));
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const std::filesystem::path& cert_file, const std::filesystem::path& key_file) {
  if (cert_file.empty() && key_file.empty()) return grpc::InsecureServerCredentials();
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (only one was given)");
  }
  absl::StatusOr<std::string> cert = ReadPemFile(cert_file, "--tls-cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile(key_file, "--tls-key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const std::string& ca_pem) {
  if (ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  return grpc::SslCredentials(options);
}

}  // namespace dvs::common
