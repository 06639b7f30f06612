// A video record read back from a metadata backend (SQLite row or etcd value)
// is JSON that may be damaged or hostile. Parsing must never throw or crash,
// and a record it accepts must survive ToJson and parsing again unchanged.
#include <cstdint>
#include <string_view>

#include "check.h"
#include "metadata/video_metadata.h"

using dvs::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<dvs::metadata::VideoMetadata> meta = dvs::metadata::VideoMetadataFromJson(json);
  if (!meta.ok()) {
    Check(meta.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  absl::StatusOr<dvs::metadata::VideoMetadata> again =
      dvs::metadata::VideoMetadataFromJson(dvs::metadata::ToJson(*meta));
  Check(again.ok() && *again == *meta);
  return 0;
}
