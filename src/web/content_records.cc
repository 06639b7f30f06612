#include "web/content_records.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace dvs::web {
namespace {

constexpr char kKind[] = "tombstone";
constexpr char kSourceSuffix[] = ".source";
constexpr size_t kPage = 100;

std::string KeyOf(std::string_view folder) { return common::Sha256Hex(folder); }

absl::StatusOr<content::Tombstone> ParseTombstone(const metadata::SmallRecord& record) {
  nlohmann::json json = nlohmann::json::parse(record.value, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("folder") || !json["folder"].is_string() ||
      !json.value("deleted_at_ms", nlohmann::json()).is_number_integer()) {
    return absl::DataLossError(absl::StrCat("tombstone ", record.key, " is not valid JSON"));
  }
  return content::Tombstone{json["folder"].get<std::string>(),
                            json["deleted_at_ms"].get<int64_t>()};
}

}  // namespace

absl::StatusOr<bool> MetadataContentRecords::IsReferenced(std::string_view folder) {
  size_t slash = folder.find('/');
  std::string_view id = folder.substr(0, slash);
  std::string_view generation =
      slash == std::string_view::npos ? std::string_view() : folder.substr(slash + 1);
  if (absl::EndsWith(common::AsAbsl(generation), kSourceSuffix)) {
    generation.remove_suffix(sizeof(kSourceSuffix) - 1);
    if (generation.empty()) return false;
  }
  absl::StatusOr<metadata::VideoMetadata> meta = metadata_.Read(id);
  if (absl::IsNotFound(meta.status())) return false;
  RETURN_IF_ERROR(meta.status());
  return meta->generation == generation;
}

absl::Status MetadataContentRecords::AddTombstone(const content::Tombstone& tombstone) {
  nlohmann::json json = {{"folder", tombstone.folder}, {"deleted_at_ms", tombstone.deleted_at_ms}};
  absl::StatusOr<int64_t> written =
      metadata_.WriteSmall(kKind, KeyOf(tombstone.folder), json.dump(), /*expected_revision=*/0);
  // Aborted: the folder has a tombstone already, which serves as well.
  if (absl::IsAborted(written.status())) return absl::OkStatus();
  return written.status();
}

absl::Status MetadataContentRecords::RemoveTombstone(std::string_view folder) {
  absl::Status status = metadata_.DeleteSmall(kKind, KeyOf(folder));
  return absl::IsNotFound(status) ? absl::OkStatus() : status;
}

absl::Status MetadataContentRecords::ForEachTombstone(
    const std::function<absl::Status(const content::Tombstone&)>& visit) {
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(metadata::SmallRecordPage page, metadata_.ListSmall(kKind, after, kPage));
    for (const metadata::SmallRecord& record : page.records) {
      absl::StatusOr<content::Tombstone> tombstone = ParseTombstone(record);
      if (!tombstone.ok()) {
        spdlog::error("skipping a damaged tombstone: {}", tombstone.status().message());
        continue;
      }
      RETURN_IF_ERROR(visit(*tombstone));
    }
    if (!page.more || page.records.empty()) return absl::OkStatus();
    after = page.records.back().key;
  }
}

}  // namespace dvs::web
