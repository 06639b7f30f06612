// BootstrapAdmin (accounts.h): the first administrator.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "access/accounts.h"
#include "common/sha256.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::access {
namespace {

constexpr char kAdminName[] = "admin";
constexpr char kPasswordFile[] = "admin-password";

// Written to a temporary name first, so that a server that loses the race
// to create the admin does not leave a password that is not the admin's.
absl::Status WritePrivateFile(const std::filesystem::path& path, const std::string& text) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path.string(), ": ", std::strerror(errno)));
  }
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path.string(), ": ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BootstrapAdmin(Accounts& accounts, std::optional<std::string> password,
                            const std::filesystem::path& data_dir) {
  ASSIGN_OR_RETURN(bool any, accounts.users().Any());
  if (any) return absl::OkStatus();
  const bool random = !password.has_value();
  const std::filesystem::path file = data_dir / kPasswordFile;
  const std::filesystem::path temp = data_dir / absl::StrCat(".", kPasswordFile, ".tmp");
  if (random) {
    password = common::RandomHex(16);
    RETURN_IF_ERROR(WritePrivateFile(temp, *password + "\n"));
  }
  absl::StatusOr<User> made = accounts.users().Create(kAdminName, *password, /*admin=*/true);
  std::error_code error;
  if (made.status().code() == absl::StatusCode::kAlreadyExists) {
    if (random) std::filesystem::remove(temp, error);
    return absl::OkStatus();  // another server made it first
  }
  if (!made.ok()) {
    if (random) std::filesystem::remove(temp, error);
    return absl::Status(made.status().code(),
                        absl::StrCat("cannot create the admin user: ", made.status().message()));
  }
  if (!random) {
    spdlog::info("created the user \"admin\" with the given password");
    return absl::OkStatus();
  }
  std::filesystem::rename(temp, file, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot rename ", temp.string(), " to ",
                                                      file.string(), ": ", error.message()));
  }
  spdlog::warn(
      "created the user \"admin\" with a random password, written to {} (readable by its "
      "owner only): log in at /login with it",
      std::filesystem::absolute(file).lexically_normal().string());
  return absl::OkStatus();
}

}  // namespace dvs::access
