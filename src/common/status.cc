#include "common/status.h"

#include <string>

#include "absl/strings/cord.h"

namespace dvs::common {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 422;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

namespace {

// A payload that names an HTTP status no canonical code maps to.
constexpr char kHttpStatusPayload[] = "type.dvs/http-status";

}  // namespace

absl::Status InsufficientStorageError(std::string_view message) {
  absl::Status status = absl::ResourceExhaustedError(AsAbsl(message));
  status.SetPayload(kHttpStatusPayload, absl::Cord("507"));
  return status;
}

int HttpStatusOf(const absl::Status& status) {
  auto payload = status.GetPayload(kHttpStatusPayload);  // absl::optional<absl::Cord>
  if (payload && *payload == "507") return 507;
  return HttpStatusFor(status.code());
}

}  // namespace dvs::common
