#include "access/users.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "access/password.h"
#include "common/ids.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace dvs::access {
namespace {

std::string UserJson(const User& user) {
  return nlohmann::json{{"name", user.name},
                        {"password_hash", user.password_hash},
                        {"admin", user.admin},
                        {"created_at_ms", user.created_at_ms}}
      .dump();
}

absl::StatusOr<User> ParseUser(const std::string& value) {
  nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string() ||
      !json.contains("password_hash") || !json["password_hash"].is_string()) {
    return absl::DataLossError("a user record is damaged");
  }
  User user;
  user.name = json["name"].get<std::string>();
  user.password_hash = json["password_hash"].get<std::string>();
  user.admin = json.value("admin", false);
  user.created_at_ms = json.value("created_at_ms", int64_t{0});
  return user;
}

}  // namespace

UserStore::UserStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms)
    : store_(store), now_ms_(std::move(now_ms)) {}

absl::StatusOr<User> UserStore::Create(std::string_view name, std::string_view password,
                                       bool admin) {
  RETURN_IF_ERROR(common::ValidateName(name, "user name"));
  RETURN_IF_ERROR(ValidatePassword(password));
  User user{std::string(name), "", admin, now_ms_()};
  ASSIGN_OR_RETURN(user.password_hash, HashPassword(password));
  absl::Status written = store_.WriteSmall(kKind, user.name, UserJson(user), 0).status();
  if (written.code() == absl::StatusCode::kAborted) {
    return absl::AlreadyExistsError(absl::StrCat("the user name \"", user.name, "\" is taken"));
  }
  RETURN_IF_ERROR(written);
  return user;
}

absl::StatusOr<User> UserStore::Read(std::string_view name) {
  RETURN_IF_ERROR(common::ValidateName(name, "user name"));
  ASSIGN_OR_RETURN(metadata::SmallRecord record, store_.ReadSmall(kKind, name));
  return ParseUser(record.value);
}

absl::StatusOr<User> UserStore::Authenticate(std::string_view name, std::string_view password) {
  absl::StatusOr<User> user = common::ValidateName(name).ok()
                                  ? Read(name)
                                  : absl::StatusOr<User>(absl::NotFoundError("bad name"));
  if (!user.ok() && user.status().code() != absl::StatusCode::kNotFound) return user.status();
  // An unknown name costs a hash too, so timing does not tell names apart.
  static const std::string kDecoy = HashPassword("decoy password").value_or("");
  bool matches = VerifyPassword(user.ok() ? user->password_hash : kDecoy, password);
  if (!user.ok() || !matches) {
    return absl::UnauthenticatedError("wrong user name or password");
  }
  return user;
}

absl::StatusOr<std::vector<User>> UserStore::List() {
  std::vector<User> users;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(metadata::SmallRecordPage page, store_.ListSmall(kKind, after, 200));
    for (const metadata::SmallRecord& record : page.records) {
      ASSIGN_OR_RETURN(User user, ParseUser(record.value));
      users.push_back(std::move(user));
      after = record.key;
    }
    if (!page.more || page.records.empty()) return users;
  }
}

absl::StatusOr<User> UserStore::Update(std::string_view name,
                                       const std::function<absl::Status(User&)>& change) {
  RETURN_IF_ERROR(common::ValidateName(name, "user name"));
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(metadata::SmallRecord record, store_.ReadSmall(kKind, name));
    ASSIGN_OR_RETURN(User user, ParseUser(record.value));
    RETURN_IF_ERROR(change(user));
    absl::Status written = store_.WriteSmall(kKind, name, UserJson(user), record.revision).status();
    if (written.code() != absl::StatusCode::kAborted || attempt == 4) {
      RETURN_IF_ERROR(written);
      return user;
    }
  }
}

absl::Status UserStore::Delete(std::string_view name) {
  RETURN_IF_ERROR(common::ValidateName(name, "user name"));
  return store_.DeleteSmall(kKind, name);
}

absl::StatusOr<bool> UserStore::Any() {
  ASSIGN_OR_RETURN(metadata::SmallRecordPage page, store_.ListSmall(kKind, "", 1));
  return !page.records.empty();
}

}  // namespace dvs::access
