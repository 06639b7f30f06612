#include "metadata/small_record_store.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"

namespace dvs::metadata {
namespace {

constexpr size_t kMaxKindLength = 16;

bool IsKind(std::string_view kind) {
  if (kind.empty() || kind.size() > kMaxKindLength) return false;
  for (char c : kind) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateSmallRecord(std::string_view kind, std::string_view key,
                                 std::string_view value) {
  if (!IsKind(kind)) {
    return absl::InvalidArgumentError(absl::StrCat("record kind \"", common::AsAbsl(kind),
                                                   "\" is not 1 to ", kMaxKindLength,
                                                   " lowercase letters"));
  }
  // etcd keeps a kind's records under "<kind>s/": "video" would mix with
  // the video records.
  if (kind == "video") return absl::InvalidArgumentError("record kind \"video\" is reserved");
  RETURN_IF_ERROR(common::ValidateName(key, "record key"));
  if (value.size() > kMaxSmallRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a ", common::AsAbsl(kind), " record of ",
                                                   value.size(), " bytes is over the limit of ",
                                                   kMaxSmallRecordBytes));
  }
  return absl::OkStatus();
}

}  // namespace dvs::metadata
