// The one mapping between absl::Status and grpc::Status. The canonical codes
// are numerically identical in both (0 OK ... 16 UNAUTHENTICATED), so the
// mapping keeps the code and the message. Only gRPC code includes this.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace dvs::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dvs::common
