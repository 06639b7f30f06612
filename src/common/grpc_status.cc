#include "common/grpc_status.h"

#include <string>

#include "common/strings.h"

namespace dvs::common {
namespace {

// Codes are 0..16 in both libraries; a code outside that range (a peer newer
// than us) is UNKNOWN, as gRPC itself treats it.
constexpr int kLastCanonicalCode = 16;

bool IsCanonical(int code) { return code >= 0 && code <= kLastCanonicalCode; }

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  int code = static_cast<int>(status.code());
  auto grpc_code = IsCanonical(code) ? static_cast<grpc::StatusCode>(code) : grpc::UNKNOWN;
  return grpc::Status(grpc_code, std::string(AsStd(status.message())));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  int code = static_cast<int>(status.error_code());
  auto absl_code =
      IsCanonical(code) ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kUnknown;
  return absl::Status(absl_code, AsAbsl(status.error_message()));
}

}  // namespace dvs::common
