#include "metadata/video_metadata.h"

#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace dvs::metadata {
namespace {

using Json = nlohmann::json;

std::optional<VideoState> VideoStateFromName(std::string_view name) {
  for (VideoState state : {VideoState::kProcessing, VideoState::kReady, VideoState::kFailed}) {
    if (VideoStateName(state) == name) return state;
  }
  return std::nullopt;
}

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

absl::StatusOr<VideoMetadata> VideoMetadataFromObject(const Json& json) {
  FieldReader fields(json, "video");
  VideoMetadata meta;
  meta.id = fields.String("id");
  meta.title = fields.String("title");
  meta.uploaded_at_ms = fields.Integer<int64_t>("uploaded_at_ms");
  std::string state = fields.String("state");
  meta.playable = fields.Bool("playable");
  meta.progress = fields.Number("progress");
  meta.error = fields.String("error");
  meta.duration_s = fields.Number("duration_s");
  meta.width = fields.Integer<int>("width", 0);
  meta.height = fields.Integer<int>("height", 0);
  const Json& renditions = fields.Array("renditions");
  for (size_t i = 0; i < renditions.size(); ++i) {
    meta.renditions.push_back(RenditionFromJson(renditions[i], fields, i));
  }
  const Json& files = fields.Array("files");
  for (size_t i = 0; i < files.size(); ++i) {
    meta.files.push_back(StoredFileFromJson(files[i], fields, i));
  }
  if (!fields.status().ok()) return fields.status();
  if (meta.id.empty()) return absl::InvalidArgumentError("video record: id is missing");
  std::optional<VideoState> parsed_state = VideoStateFromName(state.empty() ? "?" : state);
  if (!parsed_state) {
    return absl::InvalidArgumentError(absl::StrCat("video record: unknown state \"", state, "\""));
  }
  meta.state = *parsed_state;
  return meta;
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

const StoredFile* VideoMetadata::FindFile(std::string_view name) const {
  for (const StoredFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

std::string ToJson(const VideoMetadata& meta) {
  Json renditions = Json::array();
  for (const Rendition& r : meta.renditions) {
    renditions.push_back({{"width", r.width}, {"height", r.height}, {"bandwidth", r.bandwidth}});
  }
  Json files = Json::array();
  for (const StoredFile& f : meta.files) {
    files.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  }
  Json json = {{"id", meta.id},
               {"title", meta.title},
               {"uploaded_at_ms", meta.uploaded_at_ms},
               {"state", VideoStateName(meta.state)},
               {"playable", meta.playable},
               {"progress", meta.progress},
               {"error", meta.error},
               {"duration_s", meta.duration_s},
               {"width", meta.width},
               {"height", meta.height},
               {"renditions", std::move(renditions)},
               {"files", std::move(files)}};
  // The title is an uploaded file name and the error may quote tool output:
  // neither is guaranteed UTF-8, and dump() would throw on it by default.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<VideoMetadata> VideoMetadataFromJson(std::string_view json) {
  // allow_exceptions = false: a parse error yields a "discarded" value, and
  // FieldReader checks every type before reading. The catch is the edge for
  // anything nlohmann might still throw, so no exception escapes this module.
  try {
    Json parsed = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::InvalidArgumentError("video record: not valid JSON");
    }
    return VideoMetadataFromObject(parsed);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("video record: ", e.what()));
  }
}

}  // namespace dvs::metadata
