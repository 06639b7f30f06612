// SHA-256 over bytes, streams and files (OpenSSL EVP), as lowercase hex, and
// random hex from OpenSSL's CSPRNG.
// A Sha256 object is not thread-safe; the free functions are.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::common {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // The digest of everything passed to Update, as 64 hex digits. Ends the object's use.
  std::string FinalHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string Sha256Hex(std::string_view bytes);
[[nodiscard]] absl::StatusOr<std::string> Sha256OfFile(const std::filesystem::path& path);

// `bytes` random bytes as 2 * bytes lowercase hex digits (RAND_bytes; a
// failure of the system's random source aborts).
std::string RandomHex(size_t bytes);

}  // namespace dvs::common
