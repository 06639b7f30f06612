// ContentRecords: what the network content service asks of the video records
// (DESIGN §5, "deletes are durable intentions"), implemented by the web layer
// over the metadata service, so that content never depends on metadata.
//
// - IsReferenced tells whether a live record still wants a video folder; a
//   folder no record wants is garbage (after a grace period), and repair
//   never copies its keys.
// - Tombstones record a delete before it is carried out, and stay until every
//   storage node has dropped the folder, nodes that were down included.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::content {

struct Tombstone {
  std::string folder;  // a video folder: "clip/<generation>", "clip/<generation>.source", "clip"
  int64_t deleted_at_ms = 0;
};

class ContentRecords {
 public:
  virtual ~ContentRecords() = default;

  // Whether a live record references `folder`: "<id>/<generation>" and
  // "<id>/<generation>.source" (its kept upload) when video <id>'s record has
  // that generation, "<id>" when its record predates generations. An error
  // when the records cannot be read: callers then keep the folder.
  [[nodiscard]] virtual absl::StatusOr<bool> IsReferenced(std::string_view folder) = 0;

  // Records (or refreshes) the tombstone of `tombstone.folder`.
  [[nodiscard]] virtual absl::Status AddTombstone(const Tombstone& tombstone) = 0;
  // OK when there was none.
  [[nodiscard]] virtual absl::Status RemoveTombstone(std::string_view folder) = 0;
  // Calls `visit` for every tombstone, a page at a time (no full listing is
  // held); stops at the first error `visit` returns.
  [[nodiscard]] virtual absl::Status ForEachTombstone(
      const std::function<absl::Status(const Tombstone&)>& visit) = 0;
};

}  // namespace dvs::content
