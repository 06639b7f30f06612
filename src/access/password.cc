#include "access/password.h"

#include <sodium.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "access/sodium.h"

namespace dvs::access {

absl::Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a password needs at least ", kMinPasswordLength, " characters"));
  }
  if (password.size() > kMaxPasswordLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a password has at most ", kMaxPasswordLength, " characters"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  EnsureSodium();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return absl::ResourceExhaustedError("not enough memory to hash a password");
  }
  return std::string(hash);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  EnsureSodium();
  // crypto_pwhash_str_verify wants a NUL-terminated string within its size.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace dvs::access
