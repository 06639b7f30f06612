#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dvs::common {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kStderrTailBytes = 8 << 10;
// A line longer than this is delivered in pieces so a child that never prints
// a newline cannot make us buffer without bound.
constexpr size_t kMaxLineBytes = 64 << 10;
constexpr int kPollMillis = 100;
// After a kill (or after the child exits), how long we keep draining pipes that
// something outside the process group may still hold open.
constexpr auto kDrainGrace = std::chrono::seconds(1);

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

absl::StatusOr<Pipe> MakePipe() {
  // O_CLOEXEC so children forked concurrently by other threads never inherit
  // our ends (which would delay EOF on them).
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// PATH lookup happens in the parent because the child of a multithreaded
// process may only make async-signal-safe calls before exec.
absl::StatusOr<std::string> ResolveProgram(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("program not found on PATH: ", name));
}

void CloseAllFdsExcept(int keep) {
  if (keep > 3) close_range(3, keep - 1, 0);
  close_range(keep + 1, UINT_MAX, 0);
}

// Tells the parent why the child could not start (through the CLOEXEC pipe)
// and ends the child.
[[noreturn]] void FailInChild(int exec_error_fd) {
  int error = errno;
  (void)!write(exec_error_fd, &error, sizeof(error));
  _exit(127);
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(pid_t parent, const char* program, char* const argv[], int stdout_fd,
                            int stderr_fd, int exec_error_fd, uint64_t memory_limit_bytes) {
  setpgid(0, 0);  // own process group, so a kill reaches grandchildren too
  // A child must not outlive a server that was killed (kill -9): an orphaned
  // ffmpeg would go on writing into a folder the restarted server reuses.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) FailInChild(exec_error_fd);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &default_action, nullptr);  // servers often ignore it
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
  int dev_null = open("/dev/null", O_RDONLY);
  if (dev_null < 0 || dup2(dev_null, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) {
    FailInChild(exec_error_fd);
  }
  if (memory_limit_bytes > 0) {
    const struct rlimit limit = {memory_limit_bytes, memory_limit_bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) FailInChild(exec_error_fd);
  }
  CloseAllFdsExcept(exec_error_fd);  // exec_error_fd is O_CLOEXEC
  execv(program, argv);
  FailInChild(exec_error_fd);
}

// Splits standard output into lines (or collects it) and keeps the tail of
// standard error.
class OutputSink {
 public:
  OutputSink(const SubprocessOptions& options, SubprocessResult& result)
      : options_(options), result_(result) {}

  void OnStdout(std::string_view data) {
    if (!options_.on_stdout_line) {
      size_t room = options_.max_stdout_bytes - result_.stdout_text.size();
      result_.stdout_text.append(data.substr(0, room));
      return;
    }
    for (char c : data) {
      if (c == '\n') {
        EmitLine();
      } else {
        line_.push_back(c);
        if (line_.size() >= kMaxLineBytes) EmitLine();
      }
    }
  }

  void OnStderr(std::string_view data) {
    std::string& tail = result_.stderr_tail;
    tail.append(data);
    if (tail.size() > 2 * kStderrTailBytes) tail.erase(0, tail.size() - kStderrTailBytes);
  }

  void Finish() {
    if (!line_.empty()) EmitLine();
    std::string& tail = result_.stderr_tail;
    if (tail.size() > kStderrTailBytes) tail.erase(0, tail.size() - kStderrTailBytes);
  }

 private:
  void EmitLine() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    options_.on_stdout_line(line_);
    line_.clear();
  }

  const SubprocessOptions& options_;
  SubprocessResult& result_;
  std::string line_;
};

// Reads what is ready on the pipes; closes a pipe at EOF or error.
void PumpPipes(std::array<Fd, 2>& pipes, OutputSink& sink) {
  std::array<pollfd, 2> fds{};
  for (size_t i = 0; i < pipes.size(); ++i) fds[i] = {pipes[i].get(), POLLIN, 0};
  if (poll(fds.data(), fds.size(), kPollMillis) <= 0) return;  // timeout or EINTR
  char buffer[64 << 10];
  for (size_t i = 0; i < pipes.size(); ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      pipes[i].Reset();
      continue;
    }
    std::string_view data(buffer, static_cast<size_t>(n));
    if (i == 0) {
      sink.OnStdout(data);
    } else {
      sink.OnStderr(data);
    }
  }
}

int WaitForExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True once the child has exited; it stays a zombie (not reaped) so its
// process group id cannot be reused before we kill the group.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != EINTR;
  return info.si_pid == pid;
}

// Supervises the running child until it exits, killing its process group on
// cancel or timeout. Returns the exit code (-1 when signalled).
int Supervise(pid_t pid, std::array<Fd, 2>& pipes, const SubprocessOptions& options,
              SubprocessResult& result) {
  OutputSink sink(options, result);
  const Clock::time_point deadline = Clock::now() + options.time_limit;
  std::optional<Clock::time_point> killed_at;
  auto enforce_limits = [&] {
    if (killed_at) return;
    bool cancel = options.cancel != nullptr && options.cancel->load();
    if (!cancel && Clock::now() < deadline) return;
    result.cancelled = cancel;
    result.timed_out = !cancel;
    kill(-pid, SIGKILL);
    killed_at = Clock::now();
  };
  while (pipes[0].get() >= 0 || pipes[1].get() >= 0) {
    PumpPipes(pipes, sink);
    enforce_limits();
    // Something that left the group may hold the pipes open forever.
    if (killed_at && Clock::now() - *killed_at > kDrainGrace) break;
  }
  sink.Finish();
  // The pipes usually close just before the exit: poll fast at first.
  for (int sleep_ms = 1; !HasExited(pid); sleep_ms = std::min(2 * sleep_ms, kPollMillis)) {
    enforce_limits();
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
  kill(-pid, SIGKILL);  // grandchildren left in the group would outlive the run
  return WaitForExit(pid);
}

absl::Status ExecErrorStatus(int error, const std::string& program) {
  std::string message = absl::StrCat("cannot run ", program, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

// Waits until the child has exec'd (the CLOEXEC pipe closes with nothing in
// it) or reports why it could not.
absl::Status AwaitExec(pid_t pid, Fd exec_error_read, const std::string& program) {
  int error = 0;
  ssize_t n;
  do {
    n = read(exec_error_read.get(), &error, sizeof(error));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return absl::OkStatus();
  WaitForExit(pid);
  if (n != sizeof(error)) return absl::InternalError("lost the exec status of the child");
  return ExecErrorStatus(error, program);
}

}  // namespace

absl::StatusOr<SubprocessResult> RunSubprocess(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  auto program = ResolveProgram(options.argv[0]);
  if (!program.ok()) return program.status();
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  auto out = MakePipe();
  if (!out.ok()) return out.status();
  auto err = MakePipe();
  if (!err.ok()) return err.status();
  auto exec_error = MakePipe();
  if (!exec_error.ok()) return exec_error.status();

  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    ExecChild(parent, program->c_str(), argv.data(), out->write.get(), err->write.get(),
              exec_error->write.get(), options.memory_limit_bytes);
  }
  setpgid(pid, pid);  // also in the parent, so an early kill finds the group
  out->write.Reset();
  err->write.Reset();
  exec_error->write.Reset();
  if (absl::Status started = AwaitExec(pid, std::move(exec_error->read), *program); !started.ok()) {
    return started;
  }
  SubprocessResult result;
  std::array<Fd, 2> pipes{std::move(out->read), std::move(err->read)};
  result.exit_code = Supervise(pid, pipes, options, result);
  return result;
}

}  // namespace dvs::common
