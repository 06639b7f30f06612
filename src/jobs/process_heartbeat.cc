#include "jobs/process_heartbeat.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace dvs::jobs {
namespace {

using Json = nlohmann::json;

// The expiry in a liveness record's value; 0 when it has none.
int64_t ExpiresAt(std::string_view value) {
  Json json = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return 0;
  const Json& expires = json.value("expires_at_ms", Json());
  return expires.is_number_integer() ? expires.get<int64_t>() : 0;
}

}  // namespace

std::string NewProcessId() { return common::RandomHex(8); }

absl::StatusOr<bool> IsProcessAlive(metadata::SmallRecordStore& store, std::string_view process_id,
                                    int64_t now_ms) {
  absl::StatusOr<metadata::SmallRecord> record = store.ReadSmall(kProcessKind, process_id);
  if (record.status().code() == absl::StatusCode::kNotFound) return false;
  if (!record.ok()) return record.status();
  return ExpiresAt(record->value) > now_ms;
}

ProcessHeartbeat::ProcessHeartbeat(metadata::SmallRecordStore& store,
                                   std::function<int64_t()> now_ms, std::string process_id,
                                   std::string role, int64_t ttl_ms, bool exclusive_id)
    : store_(store),
      now_ms_(std::move(now_ms)),
      process_id_(std::move(process_id)),
      role_(std::move(role)),
      ttl_ms_(ttl_ms),
      exclusive_id_(exclusive_id) {}

std::string ProcessHeartbeat::Value(int64_t now_ms) const {
  return Json{
      {"role", role_}, {"started_at_ms", started_at_ms_}, {"expires_at_ms", now_ms + ttl_ms_}}
      .dump();
}

absl::Status ProcessHeartbeat::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = now_ms_();
  started_at_ms_ = now;
  int64_t expected = 0;
  absl::StatusOr<metadata::SmallRecord> old = store_.ReadSmall(kProcessKind, process_id_);
  if (old.ok()) {
    if (!exclusive_id_ && ExpiresAt(old->value) > now) {
      return absl::FailedPreconditionError(absl::StrCat(
          "another process is running as process id ", process_id_, " (its liveness record ",
          "has not expired): two processes must not share one work folder or process id"));
    }
    expected = old->revision;
  } else if (old.status().code() != absl::StatusCode::kNotFound) {
    return old.status();
  }
  ASSIGN_OR_RETURN(revision_, store_.WriteSmall(kProcessKind, process_id_, Value(now), expected));
  return absl::OkStatus();
}

absl::Status ProcessHeartbeat::Renew() {
  std::lock_guard<std::mutex> lock(mutex_);
  absl::StatusOr<int64_t> written =
      store_.WriteSmall(kProcessKind, process_id_, Value(now_ms_()), revision_);
  if (written.status().code() == absl::StatusCode::kAborted) {
    absl::StatusOr<metadata::SmallRecord> now = store_.ReadSmall(kProcessKind, process_id_);
    int64_t expected = 0;
    if (now.ok()) {
      expected = now->revision;
    } else if (now.status().code() != absl::StatusCode::kNotFound) {
      return now.status();
    }
    written = store_.WriteSmall(kProcessKind, process_id_, Value(now_ms_()), expected);
  }
  if (!written.ok()) return written.status();
  revision_ = *written;
  return absl::OkStatus();
}

absl::Status ProcessHeartbeat::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (revision_ == 0) return absl::OkStatus();
  absl::Status deleted = store_.DeleteSmallAt(kProcessKind, process_id_, revision_);
  revision_ = 0;
  return deleted.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : deleted;
}

}  // namespace dvs::jobs
