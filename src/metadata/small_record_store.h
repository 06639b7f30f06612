// SmallRecordStore: small records of their own beside the videos (DESIGN §4):
// users, API tokens and sessions, later job records and the signing secret.
// A record is an opaque value (JSON by convention) under a (kind, key) pair,
// with a revision for compare-and-set, so that of two writers that read the
// same revision exactly one wins — across threads and across processes that
// share the backend.
//
// kind is a short fixed word ("user", "token", "secret": lowercase letters,
// 1..16 of them); key a validated name (common::ValidateName: a user name or
// a hex digest). Values are at most kMaxSmallRecordBytes.
//
// Implementations: the metadata backends (SQLite, etcd). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::metadata {

inline constexpr size_t kMaxSmallRecordBytes = 16 << 10;

struct SmallRecord {
  std::string key;
  std::string value;
  int64_t revision = 0;  // > 0; changes with every write
};

struct SmallRecordPage {
  std::vector<SmallRecord> records;  // by key, ascending
  bool more = false;                 // more records after the last one
};

class SmallRecordStore {
 public:
  virtual ~SmallRecordStore() = default;

  // NotFound when there is no such record.
  [[nodiscard]] virtual absl::StatusOr<SmallRecord> ReadSmall(std::string_view kind,
                                                              std::string_view key) = 0;
  // Writes the record only when it is at `expected_revision` (0: only when
  // it does not exist). Aborted when it is not (another writer came first,
  // or it exists / is gone). Returns the new revision.
  [[nodiscard]] virtual absl::StatusOr<int64_t> WriteSmall(std::string_view kind,
                                                           std::string_view key,
                                                           std::string_view value,
                                                           int64_t expected_revision) = 0;
  // NotFound when there is no such record.
  [[nodiscard]] virtual absl::Status DeleteSmall(std::string_view kind, std::string_view key) = 0;
  // Deletes the record only when it is at `expected_revision` (> 0): Aborted
  // when it was changed since, NotFound when there is no such record. For a
  // writer that must not delete what another wrote after its read.
  [[nodiscard]] virtual absl::Status DeleteSmallAt(std::string_view kind, std::string_view key,
                                                   int64_t expected_revision) = 0;
  // Up to `limit` (at least 1) records of `kind` with keys after `after_key`
  // (empty: from the first), by key.
  [[nodiscard]] virtual absl::StatusOr<SmallRecordPage> ListSmall(std::string_view kind,
                                                                  std::string_view after_key,
                                                                  size_t limit) = 0;
};

// InvalidArgument unless kind, key and value are as the class comment says
// (value: only its size is checked; pass an empty one to check a key alone).
[[nodiscard]] absl::Status ValidateSmallRecord(std::string_view kind, std::string_view key,
                                               std::string_view value = {});

}  // namespace dvs::metadata
