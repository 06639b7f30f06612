// The process id a server keeps across restarts, in `<work dir>/process-id`,
// held under an exclusive flock for as long as the process runs: two
// processes can never share one work folder (nor its jobs' sources) by
// accident, and a restarted server resumes its own jobs at once instead of
// waiting for their leases to expire.
//
// Thread-compatible; the lock is released when the object is destroyed.
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "common/posix_file.h"

namespace dvs::jobs {

class ProcessIdFile {
 public:
  // Creates the folder and file as needed, locks the file, and reads the id
  // in it (a new random one is written when it holds none).
  // FailedPrecondition when another process holds the lock.
  [[nodiscard]] static absl::StatusOr<ProcessIdFile> Lock(const std::filesystem::path& work_dir);

  const std::string& process_id() const { return process_id_; }

 private:
  ProcessIdFile(common::UniqueFd fd, std::string id)
      : fd_(std::move(fd)), process_id_(std::move(id)) {}

  common::UniqueFd fd_;
  std::string process_id_;
};

}  // namespace dvs::jobs
