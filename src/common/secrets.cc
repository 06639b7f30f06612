#include "common/secrets.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::common {
namespace {

// A file holding a secret is small; anything larger is a wrong path.
constexpr std::streamsize kMaxSecretFileBytes = 1 << 20;

std::array<unsigned char, SHA256_DIGEST_LENGTH> Digest(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

absl::StatusOr<std::string> ReadSmallFile(const std::filesystem::path& path,
                                          std::string_view what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), ": cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  std::string bytes(static_cast<size_t>(kMaxSecretFileBytes) + 1, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(file.gcount()));
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": cannot read ", path.string()));
  }
  if (bytes.size() > static_cast<size_t>(kMaxSecretFileBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), ": ", path.string(), " is larger than 1 MiB"));
  }
  return bytes;
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool ConstantTimeEquals(std::string_view presented, std::string_view expected) {
  auto presented_digest = Digest(presented);
  auto expected_digest = Digest(expected);
  return CRYPTO_memcmp(presented_digest.data(), expected_digest.data(), presented_digest.size()) ==
         0;
}

absl::StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path,
                                          std::string_view what) {
  absl::StatusOr<std::string> token = ReadSmallFile(path, what);
  if (!token.ok()) return token.status();
  if (token->ends_with('\n')) token->pop_back();
  if (token->ends_with('\r')) token->pop_back();
  if (token->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), ": ", path.string(), " holds no token"));
  }
  return token;
}

absl::StatusOr<std::string> ReadPemFile(const std::filesystem::path& path, std::string_view what) {
  absl::StatusOr<std::string> pem = ReadSmallFile(path, what);
  if (pem.ok() && pem->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": ", path.string(), " is empty"));
  }
  return pem;
}

}  // namespace dvs::common
