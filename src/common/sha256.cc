#include "common/sha256.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dvs::common {
namespace {

// 1 MiB: large enough that the syscall cost is noise, small enough to keep on
// the heap of every concurrent hasher.
constexpr size_t kFileChunk = 1 << 20;

std::string ToHex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return hex;
}

}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* ctx = nullptr;
};

// OpenSSL failures here mean memory exhaustion or a broken library; neither is
// something a caller could handle, so they abort (a broken invariant).
Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  if (context_->ctx == nullptr || EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_->ctx); }

void Sha256::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(context_->ctx, bytes.data(), bytes.size()) != 1) std::abort();
}

std::string Sha256::FinalHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest, &size) != 1) std::abort();
  return ToHex(digest, size);
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    std::fprintf(stderr, "dvs: the system's random source failed\n");
    std::abort();
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes);
  for (unsigned char byte : random) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 15]);
  }
  return hex;
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 hasher;
  hasher.Update(bytes);
  return hasher.FinalHex();
}

absl::StatusOr<std::string> Sha256OfFile(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    int error = errno;
    std::string message = absl::StrCat("cannot open ", path.string(), ": ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
  }
  Sha256 hasher;
  std::vector<char> buffer(kFileChunk);
  size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    hasher.Update(std::string_view(buffer.data(), got));
  }
  if (std::ferror(file.get())) {
    return absl::InternalError(
        absl::StrCat("cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  return hasher.FinalHex();
}

}  // namespace dvs::common
