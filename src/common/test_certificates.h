// For tests: a throw-away CA and a server certificate it signs (SAN
// IP:127.0.0.1 and DNS:localhost), made by the `openssl` command in a folder.
// Header-only; each call makes its own files. Not for production use.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"

namespace dvs::common {

struct TestCertificates {
  std::filesystem::path ca_cert;      // PEM: what clients trust
  std::filesystem::path server_cert;  // PEM, signed by the CA
  std::filesystem::path server_key;   // PEM
};

namespace test_certificates_internal {

inline absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  absl::StatusOr<SubprocessResult> result =
      RunSubprocess({.argv = args, .time_limit = std::chrono::seconds(30)});
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::InternalError(absl::StrCat("openssl ", args[1], " failed: ", result->stderr_tail));
  }
  return absl::OkStatus();
}

}  // namespace test_certificates_internal

// Makes ca.pem, ca.key, server.pem, server.key (and a request and an
// extensions file) in `dir`, which must exist.
inline absl::StatusOr<TestCertificates> MakeTestCertificates(const std::filesystem::path& dir) {
  using test_certificates_internal::Openssl;
  auto at = [&dir](const char* name) { return (dir / name).string(); };
  absl::Status status =
      Openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
               "/CN=dvs test CA", "-keyout", at("ca.key"), "-out", at("ca.pem")});
  if (status.ok()) {
    status = Openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
                      at("server.key"), "-out", at("server.csr")});
  }
  if (status.ok()) {
    FILE* extensions = std::fopen(at("server.ext").c_str(), "w");
    if (extensions == nullptr) return absl::InternalError("cannot write server.ext");
    std::fputs("subjectAltName=IP:127.0.0.1,DNS:localhost\n", extensions);
    std::fclose(extensions);
    status = Openssl({"x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey",
                      at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("server.ext"),
                      "-out", at("server.pem")});
  }
  if (!status.ok()) return status;
  return TestCertificates{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
}

}  // namespace dvs::common
