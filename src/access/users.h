// UserStore: user accounts as small records (kind "user", key the name) in
// the metadata backend, so every web server sees the same accounts. A user
// is {name, argon2id password hash, admin, created_at_ms}.
// Thread-safe (the backend is; the store keeps no state of its own).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metadata/small_record_store.h"

namespace dvs::access {

struct User {
  std::string name;
  std::string password_hash;
  bool admin = false;
  int64_t created_at_ms = 0;
};

class UserStore {
 public:
  static constexpr char kKind[] = "user";

  UserStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms);

  // InvalidArgument for a bad name (common::ValidateName) or a weak
  // password; AlreadyExists when the name is taken (also when another
  // server creates it at the same moment: one of them wins).
  [[nodiscard]] absl::StatusOr<User> Create(std::string_view name, std::string_view password,
                                            bool admin);
  // NotFound when there is no such user.
  [[nodiscard]] absl::StatusOr<User> Read(std::string_view name);
  // The user when the password is right; Unauthenticated otherwise (the
  // same answer for an unknown name, which costs a hash all the same).
  [[nodiscard]] absl::StatusOr<User> Authenticate(std::string_view name, std::string_view password);
  // True when at least one user exists.
  [[nodiscard]] absl::StatusOr<bool> Any();
  // Every user, by name.
  [[nodiscard]] absl::StatusOr<std::vector<User>> List();
  // Applies `change` to the user and stores the result, by compare-and-set
  // (a concurrent change on another server is read again and re-applied).
  // NotFound when there is no such user; `change`'s error as it is.
  [[nodiscard]] absl::StatusOr<User> Update(std::string_view name,
                                            const std::function<absl::Status(User&)>& change);
  // NotFound when there is no such user.
  [[nodiscard]] absl::Status Delete(std::string_view name);

 private:
  metadata::SmallRecordStore& store_;
  const std::function<int64_t()> now_ms_;
};

}  // namespace dvs::access
