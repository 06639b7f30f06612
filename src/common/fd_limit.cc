#include "common/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace dvs::common {
namespace {

// Linux refuses an RLIMIT_NOFILE above fs.nr_open (1048576 by default), so
// an "unlimited" hard limit is raised to that instead.
uint64_t KernelMaxOpenFiles() {
  constexpr uint64_t kDefaultNrOpen = 1 << 20;
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t value = 0;
  if (in >> value && value > 0) return value;
  return kDefaultNrOpen;
}

absl::Status RlimitError(const char* what) {
  return absl::InternalError(absl::StrCat(what, " RLIMIT_NOFILE: ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<FileLimit> CurrentFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return RlimitError("cannot read");
  return FileLimit{.soft = limit.rlim_cur, .hard = limit.rlim_max};
}

absl::StatusOr<FileLimit> RaiseFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return RlimitError("cannot read");
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) target = KernelMaxOpenFiles();
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
    struct rlimit raised = limit;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) return RlimitError("cannot raise");
  }
  return CurrentFileLimit();
}

uint64_t ReservedFds(int transcode_jobs) {
  return kBaseReservedFds + kReservedFdsPerJob * static_cast<uint64_t>(std::max(0, transcode_jobs));
}

size_t ConnectionsThatFit(size_t requested, uint64_t fd_limit, uint64_t reserved) {
  uint64_t spare = fd_limit > reserved ? fd_limit - reserved : 0;
  uint64_t fit = std::max<uint64_t>(spare / kFdsPerConnection, kMinConnections);
  return static_cast<size_t>(std::min<uint64_t>(requested, fit));
}

}  // namespace dvs::common
