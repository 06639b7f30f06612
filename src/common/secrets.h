// Secrets and addresses of the cluster plane (DESIGN §6, §7): the loopback
// test that decides whether a server may listen without a credential, a
// compare of secrets whose time does not depend on where they differ, and
// reading a token or a PEM file given on the command line. Plain functions,
// thread-safe. No gRPC here (see grpc_security.h for the gRPC side).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::common {

// True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets): the
// addresses only this machine can reach. Other names are not resolved: a name
// that happens to resolve to loopback is still treated as remote.
bool IsLoopbackHost(std::string_view host);

// Equal strings? Both sides are hashed (SHA-256) and the digests compared
// with CRYPTO_memcmp, so the time taken reveals neither where they differ nor
// the expected length.
bool ConstantTimeEquals(std::string_view presented, std::string_view expected);

// The token in the file at `path`, without its trailing newline (a "\n" or
// "\r\n"). InvalidArgument naming `what` (e.g. "--cluster-token-file") when
// it cannot be read or is empty.
[[nodiscard]] absl::StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path,
                                                        std::string_view what);

// The whole file at `path` (a PEM certificate, key or CA bundle).
// InvalidArgument naming `what` (e.g. "--tls-ca") when it cannot be read or
// is empty.
[[nodiscard]] absl::StatusOr<std::string> ReadPemFile(const std::filesystem::path& path,
                                                      std::string_view what);

}  // namespace dvs::common
