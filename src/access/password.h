// Password hashing: argon2id through libsodium (crypto_pwhash_str), a
// memory-hard KDF whose encoded hash carries its own salt and cost, so
// hashes made with other costs still verify. Thread-safe; each call takes
// about 64 MiB and some tens of milliseconds by design.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::access {

inline constexpr size_t kMinPasswordLength = 8;
inline constexpr size_t kMaxPasswordLength = 1024;

// InvalidArgument for a password too short or too long to accept.
[[nodiscard]] absl::Status ValidatePassword(std::string_view password);

// The encoded argon2id hash ("$argon2id$v=19$..."). ResourceExhausted when
// the memory cannot be had.
[[nodiscard]] absl::StatusOr<std::string> HashPassword(std::string_view password);

// True when `password` matches `hash`; false for a wrong password and for a
// hash that is not one of ours.
bool VerifyPassword(std::string_view hash, std::string_view password);

}  // namespace dvs::access
