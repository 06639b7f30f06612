// Error handling helpers shared by every module: the RETURN_IF_ERROR /
// ASSIGN_OR_RETURN macros (Debian's Abseil lacks them) and the one mapping
// from absl::StatusCode to HTTP statuses.
#pragma once

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/strings.h"

#define DVS_CONCAT_INNER(a, b) a##b
#define DVS_CONCAT(a, b) DVS_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    if (absl::Status dvs_status_ = (expr); !dvs_status_.ok()) { \
      return dvs_status_;                                       \
    }                                                           \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F())` binds the value of an absl::StatusOr or
// returns its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  DVS_ASSIGN_OR_RETURN_IMPL(DVS_CONCAT(dvs_statusor_, __LINE__), lhs, expr)
#define DVS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

namespace dvs::common {

// The HTTP status for a canonical code. kFailedPrecondition means "the request
// was well formed but its content cannot be used" (an upload that is not a
// video) and maps to 422.
int HttpStatusFor(absl::StatusCode code);

// ResourceExhausted (so that jobs retry it), answered 507 Insufficient
// Storage over HTTP: the disk cannot take what was asked.
absl::Status InsufficientStorageError(std::string_view message);

// The HTTP status for `status`: HttpStatusFor its code, or the status an
// error like InsufficientStorageError carries.
int HttpStatusOf(const absl::Status& status);

}  // namespace dvs::common
