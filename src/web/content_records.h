// MetadataContentRecords: the network content service's view of the video
// records (content::ContentRecords), from the metadata service: which video
// folders a record references, and the tombstones of deleted folders, kept
// as small records of kind "tombstone" keyed by the SHA-256 of the folder.
//
// A folder is referenced when its video's record has its generation:
// "<id>/<generation>" (the files) and "<id>/<generation>.source" (the upload
// kept for its job, JobSources::SourceFolder); "<id>" when the record
// predates generations. Thread-safe (the metadata service is).
#pragma once

#include <functional>
#include <string_view>

#include "content/network/content_records.h"
#include "metadata/metadata_service.h"

namespace dvs::web {

class MetadataContentRecords final : public content::ContentRecords {
 public:
  // `metadata` must outlive this object.
  explicit MetadataContentRecords(metadata::VideoMetadataService& metadata) : metadata_(metadata) {}

  absl::StatusOr<bool> IsReferenced(std::string_view folder) override;
  absl::Status AddTombstone(const content::Tombstone& tombstone) override;
  absl::Status RemoveTombstone(std::string_view folder) override;
  absl::Status ForEachTombstone(
      const std::function<absl::Status(const content::Tombstone&)>& visit) override;

 private:
  metadata::VideoMetadataService& metadata_;
};

}  // namespace dvs::web
