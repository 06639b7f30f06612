#include "metadata/video_metadata.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace dvs::metadata {
namespace {

using Json = nlohmann::json;

// Reads typed fields of one JSON object without throwing. A missing or null
// field reads as the default; a field of the wrong type records the first
// error, which status() then reports. Collecting the error this way keeps the
// record parsers flat instead of one early return per field.
class FieldReader {
 public:
  FieldReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) Fail("", "an object");
  }

  bool Has(const char* key) const { return Find(key) != nullptr; }

  std::string String(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return "";
    if (!value->is_string()) {
      Fail(key, "a string");
      return "";
    }
    return value->get_ref<const std::string&>();
  }

  bool Bool(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) {
      Fail(key, "true or false");
      return false;
    }
    return value->get<bool>();
  }

  double Number(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return 0;
    if (!value->is_number()) {
      Fail(key, "a number");
      return 0;
    }
    return value->get<double>();
  }

  // An integer within [min, max]; JSON numbers with a fraction are refused.
  template <typename T>
  T Integer(const char* key, T min = std::numeric_limits<T>::min(),
            T max = std::numeric_limits<T>::max()) {
    const Json* value = Find(key);
    if (value == nullptr) return 0;
    if (value->is_number_unsigned()) {
      uint64_t n = value->get<uint64_t>();
      if (n <= static_cast<uint64_t>(max)) return static_cast<T>(n);
    } else if (value->is_number_integer()) {
      int64_t n = value->get<int64_t>();
      if (n >= static_cast<int64_t>(min) &&
          (n < 0 || static_cast<uint64_t>(n) <= static_cast<uint64_t>(max))) {
        return static_cast<T>(n);
      }
    }
    Fail(key, "an integer in range");
    return 0;
  }

  // The array under `key`, or an empty one when absent.
  const Json& Array(const char* key) {
    static const Json kEmpty = Json::array();
    const Json* value = Find(key);
    if (value == nullptr) return kEmpty;
    if (!value->is_array()) {
      Fail(key, "an array");
      return kEmpty;
    }
    return *value;
  }

  void Merge(const absl::Status& status) {
    if (status_.ok()) status_ = status;
  }
  const absl::Status& status() const { return status_; }

 private:
  const Json* Find(const char* key) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  void Fail(const char* key, const char* expected) {
    std::string field = *key == 0 ? where_ : absl::StrCat(where_, ".", key);
    Merge(absl::InvalidArgumentError(absl::StrCat("video record: ", field, " must be ", expected)));
  }

  const Json& object_;
  const std::string where_;
  absl::Status status_;
};

Rendition RenditionFromJson(const Json& json, FieldReader& parent, size_t index) {
  FieldReader fields(json, absl::StrCat("renditions[", index, "]"));
  Rendition rendition;
  rendition.width = fields.Integer<int>("width", 0);
  rendition.height = fields.Integer<int>("height", 0);
  rendition.bandwidth = fields.Integer<int>("bandwidth", 0);
  parent.Merge(fields.status());
  return rendition;
}

StoredFile StoredFileFromJson(const Json& json, FieldReader& parent, size_t index) {
  FieldReader fields(json, absl::StrCat("files[", index, "]"));
  StoredFile file;
  file.name = fields.String("name");
  file.size = fields.Integer<uint64_t>("size");
  file.sha256 = fields.String("sha256");
  parent.Merge(fields.status());
  return file;
}

std::vector<StoredFile> StoredFilesFromJson(const Json& files, FieldReader& fields) {
  std::vector<StoredFile> list;
  list.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) list.push_back(StoredFileFromJson(files[i], fields, i));
  return list;
}

FileIndexRef FileIndexRefFromJson(const Json& json, FieldReader& parent) {
  FieldReader fields(json, "video.index");
  FileIndexRef ref;
  ref.name = fields.String("name");
  ref.sha256 = fields.String("sha256");
  ref.files = fields.Integer<uint64_t>("file_count");
  parent.Merge(fields.status());
  return ref;
}

template <typename Enum, size_t N>
std::optional<Enum> EnumFromName(std::string_view name, const Enum (&values)[N],
                                 std::string_view (*name_of)(Enum)) {
  for (Enum value : values) {
    if (name_of(value) == name) return value;
  }
  return std::nullopt;
}

// The fields that are not plain values: state, visibility and the index.
absl::Status ReadChoices(const Json& json, FieldReader& fields, VideoMetadata& meta) {
  std::string state = fields.String("state");
  std::string visibility = fields.String("visibility");
  if (fields.Has("index")) meta.index = FileIndexRefFromJson(json["index"], fields);
  RETURN_IF_ERROR(fields.status());
  constexpr VideoState kStates[] = {VideoState::kProcessing, VideoState::kReady,
                                    VideoState::kFailed};
  std::optional<VideoState> parsed_state =
      EnumFromName(state.empty() ? "?" : state, kStates, VideoStateName);
  if (!parsed_state) {
    return absl::InvalidArgumentError(absl::StrCat("video record: unknown state \"", state, "\""));
  }
  meta.state = *parsed_state;
  constexpr Visibility kVisibilities[] = {Visibility::kPublic, Visibility::kUnlisted,
                                          Visibility::kPrivate};
  std::optional<Visibility> parsed_visibility =
      EnumFromName(visibility.empty() ? "public" : visibility, kVisibilities, VisibilityName);
  if (!parsed_visibility) {
    return absl::InvalidArgumentError(
        absl::StrCat("video record: unknown visibility \"", visibility, "\""));
  }
  meta.visibility = *parsed_visibility;
  return absl::OkStatus();
}

absl::StatusOr<VideoMetadata> VideoMetadataFromObject(const Json& json) {
  FieldReader fields(json, "video");
  VideoMetadata meta;
  meta.id = fields.String("id");
  meta.title = fields.String("title");
  meta.owner = fields.String("owner");
  meta.uploaded_at_ms = fields.Integer<int64_t>("uploaded_at_ms");
  meta.updated_at_ms = fields.Integer<int64_t>("updated_at_ms");
  meta.playable = fields.Bool("playable");
  meta.error = fields.String("error");
  meta.duration_s = fields.Number("duration_s");
  meta.width = fields.Integer<int>("width", 0);
  meta.height = fields.Integer<int>("height", 0);
  meta.size_bytes = fields.Integer<uint64_t>("size_bytes");
  const Json& renditions = fields.Array("renditions");
  for (size_t i = 0; i < renditions.size(); ++i) {
    meta.renditions.push_back(RenditionFromJson(renditions[i], fields, i));
  }
  meta.poster = fields.String("poster");
  meta.hls = fields.Bool("hls");
  meta.generation = fields.String("generation");
  RETURN_IF_ERROR(ReadChoices(json, fields, meta));
  if (meta.id.empty()) return absl::InvalidArgumentError("video record: id is missing");
  return meta;
}

// Parses `json` into an object and hands it to `read`, without letting an
// exception escape this module: allow_exceptions = false makes a parse error
// a "discarded" value, FieldReader checks every type before reading, and the
// catch is the edge for anything nlohmann might still throw.
template <typename Read>
auto ParseWith(std::string_view json, std::string_view what, Read read)
    -> decltype(read(std::declval<const Json&>())) {
  try {
    Json parsed = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(common::AsAbsl(what), ": not valid JSON"));
    }
    return read(parsed);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(common::AsAbsl(what), ": ", e.what()));
  }
}

// The title is an uploaded file name and the error may quote tool output:
// neither is guaranteed UTF-8, and dump() would throw on it by default.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json FilesJson(const std::vector<StoredFile>& files) {
  Json list = Json::array();
  for (const StoredFile& f : files) {
    list.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  }
  return list;
}

}  // namespace

std::string_view VideoStateName(VideoState state) {
  switch (state) {
    case VideoState::kProcessing:
      return "processing";
    case VideoState::kReady:
      return "ready";
    case VideoState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view VisibilityName(Visibility visibility) {
  switch (visibility) {
    case Visibility::kPublic:
      return "public";
    case Visibility::kUnlisted:
      return "unlisted";
    case Visibility::kPrivate:
      return "private";
  }
  return "unknown";
}

FileIndex::FileIndex(std::vector<StoredFile> files) {
  // A stable sort keeps the order of one name's entries: the last one wins.
  std::stable_sort(files.begin(), files.end(),
                   [](const StoredFile& a, const StoredFile& b) { return a.name < b.name; });
  for (StoredFile& file : files) {
    if (!files_.empty() && files_.back().name == file.name) {
      files_.back() = std::move(file);
    } else {
      files_.push_back(std::move(file));
    }
  }
}

const StoredFile* FileIndex::Find(std::string_view name) const {
  auto it =
      std::lower_bound(files_.begin(), files_.end(), name,
                       [](const StoredFile& file, std::string_view n) { return file.name < n; });
  return it != files_.end() && it->name == name ? &*it : nullptr;
}

uint64_t FileIndex::total_bytes() const {
  uint64_t total = 0;
  for (const StoredFile& file : files_) total += file.size;
  return total;
}

std::string ToJson(const FileIndex& index) {
  return Dump(Json{{"files", FilesJson(index.files())}});
}

absl::StatusOr<FileIndex> FileIndexFromJson(std::string_view json) {
  return ParseWith(json, "file index", [](const Json& parsed) -> absl::StatusOr<FileIndex> {
    FieldReader fields(parsed, "index");
    std::vector<StoredFile> files = StoredFilesFromJson(fields.Array("files"), fields);
    if (!fields.status().ok()) return fields.status();
    return FileIndex(std::move(files));
  });
}

std::string FileIndexName(std::string_view sha256) {
  return absl::StrCat("index-", std::string(sha256), ".json");
}

std::string VideoMetadata::ContentFolder() const {
  return generation.empty() ? id : absl::StrCat(id, "/", generation);
}

std::string NewGeneration() { return common::RandomHex(8); }

std::string ToJson(const VideoMetadata& meta) { return Dump(ToJsonValue(meta)); }

Json ToJsonValue(const VideoMetadata& meta) {
  Json renditions = Json::array();
  for (const Rendition& r : meta.renditions) {
    renditions.push_back({{"width", r.width}, {"height", r.height}, {"bandwidth", r.bandwidth}});
  }
  Json json = {{"id", meta.id},
               {"title", meta.title},
               {"owner", meta.owner},
               {"visibility", VisibilityName(meta.visibility)},
               {"uploaded_at_ms", meta.uploaded_at_ms},
               {"updated_at_ms", meta.updated_at_ms},
               {"state", VideoStateName(meta.state)},
               {"playable", meta.playable},
               {"error", meta.error},
               {"duration_s", meta.duration_s},
               {"width", meta.width},
               {"height", meta.height},
               {"size_bytes", meta.size_bytes},
               {"renditions", std::move(renditions)},
               {"poster", meta.poster},
               {"hls", meta.hls},
               {"generation", meta.generation},
               {"index",
                {{"name", meta.index.name},
                 {"sha256", meta.index.sha256},
                 {"file_count", meta.index.files}}}};
  return json;
}

absl::StatusOr<std::string> RecordJson(const VideoMetadata& meta) {
  std::string json = ToJson(meta);
  if (json.size() > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the record of video \"", meta.id, "\" is ",
                                                   json.size(), " bytes, over the limit of ",
                                                   kMaxRecordBytes));
  }
  return json;
}

absl::StatusOr<VideoMetadata> VideoMetadataFromJson(std::string_view json) {
  return ParseWith(json, "video record", VideoMetadataFromObject);
}

absl::StatusOr<std::optional<std::vector<StoredFile>>> LegacyFilesFromJson(std::string_view json) {
  using Result = absl::StatusOr<std::optional<std::vector<StoredFile>>>;
  return ParseWith(json, "video record", [](const Json& parsed) -> Result {
    FieldReader fields(parsed, "video");
    if (!fields.Has("files")) return std::optional<std::vector<StoredFile>>();
    std::vector<StoredFile> files = StoredFilesFromJson(fields.Array("files"), fields);
    if (!fields.status().ok()) return fields.status();
    return std::optional<std::vector<StoredFile>>(std::move(files));
  });
}

bool ListsBefore(const VideoMetadata& a, const VideoMetadata& b) {
  if (a.uploaded_at_ms != b.uploaded_at_ms) return a.uploaded_at_ms > b.uploaded_at_ms;
  return a.id < b.id;
}

bool ListsAfter(const VideoMetadata& meta, const ListPosition& position) {
  if (meta.uploaded_at_ms != position.uploaded_at_ms) {
    return meta.uploaded_at_ms < position.uploaded_at_ms;
  }
  return meta.id > position.id;
}

// "<uploaded_at_ms>.<id>": ids are names ([A-Za-z0-9._-]), so the cursor is
// safe in a URL as it is, and the first '.' ends the number.
std::string ListCursorAfter(const VideoMetadata& last) {
  return absl::StrCat(last.uploaded_at_ms, ".", last.id);
}

absl::StatusOr<ListPosition> ParseListCursor(std::string_view cursor) {
  size_t dot = cursor.find('.');
  ListPosition position;
  if (dot == std::string_view::npos ||
      !absl::SimpleAtoi(common::AsAbsl(cursor.substr(0, dot)), &position.uploaded_at_ms) ||
      !common::ValidateName(cursor.substr(dot + 1)).ok()) {
    return absl::InvalidArgumentError(
        "cursor: not one this server gave (start from the first page)");
  }
  position.id = std::string(cursor.substr(dot + 1));
  return position;
}

}  // namespace dvs::metadata
