// The process's budget of file descriptors (RLIMIT_NOFILE): raising the soft
// limit to the hard one at start, and how many client connections fit in it.
//
// Most systems start processes with a soft limit of 1024 while the hard
// limit is far higher; a server that keeps the soft one runs out of
// descriptors (EMFILE: accept fails, uploads and ffmpeg's pipes cannot open)
// long before its --max-connections. Thread-safe (the limit is process-wide;
// call RaiseFileLimit once, before threads start).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace dvs::common {

// A connection can hold two descriptors at once: its socket, and the file it
// sends (sendfile) or the spool file its upload goes to.
inline constexpr uint64_t kFdsPerConnection = 2;
// Kept out of the connections' share whatever the configuration: stdio and
// the log, the listening socket and the event loop's epoll and eventfds, the
// SQLite database with its WAL, shared-memory and journal files, the work
// folder's and the database's lock files, the static files read at start,
// and gRPC: a socket per channel (etcd endpoints, storage nodes, the admin
// server) plus the pollers' epoll and wake-up fds. A cluster of a few dozen
// storage nodes needs well under 256.
inline constexpr uint64_t kBaseReservedFds = 256;
// Per transcoding job slot: ffmpeg's or ffprobe's stdout and stderr pipes
// (six fds while the child is spawned), the source it reads and the files
// being stored.
inline constexpr uint64_t kReservedFdsPerJob = 8;
// Never clamp below this: a server that can hold no connection is useless,
// and the operator sees the warning.
inline constexpr size_t kMinConnections = 16;

struct FileLimit {
  uint64_t soft = 0;  // in force
  uint64_t hard = 0;
};

// Raises the soft limit to the hard one (capped at what the kernel accepts
// when the hard limit is "unlimited") and returns the limits now in force.
// An error leaves the limit as it was.
[[nodiscard]] absl::StatusOr<FileLimit> RaiseFileLimit();

// The limits in force.
[[nodiscard]] absl::StatusOr<FileLimit> CurrentFileLimit();

// Descriptors kept out of the connections' share for `transcode_jobs` slots.
uint64_t ReservedFds(int transcode_jobs);

// `requested` connections, or fewer when they would not fit in `fd_limit`
// descriptors next to `reserved` others (never fewer than kMinConnections).
size_t ConnectionsThatFit(size_t requested, uint64_t fd_limit, uint64_t reserved);

}  // namespace dvs::common
