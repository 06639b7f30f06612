#include "common/subprocess.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace dvs::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Clock = std::chrono::steady_clock;

SubprocessResult RunOk(SubprocessOptions options) {
  auto result = RunSubprocess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SubprocessResult{};
}

TEST(SubprocessTest, DeliversEachStdoutLineWithoutNewline) {
  std::vector<std::string> lines;
  SubprocessOptions options;
  options.argv = {"printf", "one\ntwo\r\nthree"};
  options.on_stdout_line = [&](std::string_view line) { lines.emplace_back(line); };
  SubprocessResult result = RunOk(options);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.ok());
  EXPECT_THAT(lines, ElementsAre("one", "two", "three"));
  EXPECT_EQ(result.stdout_text, "");
}

TEST(SubprocessTest, CollectsStdoutWhenNoLineCallback) {
  SubprocessOptions options;
  options.argv = {"echo", "hello", "world"};
  EXPECT_EQ(RunOk(options).stdout_text, "hello world\n");
}

TEST(SubprocessTest, CapsCollectedStdout) {
  SubprocessOptions options;
  options.argv = {"head", "-c", "100000", "/dev/zero"};
  options.max_stdout_bytes = 1000;
  SubprocessResult result = RunOk(options);
  EXPECT_EQ(result.stdout_text.size(), 1000u);
  EXPECT_EQ(result.exit_code, 0);
}

TEST(SubprocessTest, PassesArgumentsWithoutAShell) {
  SubprocessOptions options;
  options.argv = {"echo", "$HOME; rm -rf / `id`"};
  EXPECT_EQ(RunOk(options).stdout_text, "$HOME; rm -rf / `id`\n");
}

TEST(SubprocessTest, ReportsNonZeroExitCode) {
  SubprocessOptions options;
  options.argv = {"sh", "-c", "exit 3"};
  SubprocessResult result = RunOk(options);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.cancelled);
}

TEST(SubprocessTest, StdinIsEmpty) {
  SubprocessOptions options;
  options.argv = {"wc", "-c"};
  EXPECT_EQ(RunOk(options).stdout_text, "0\n");
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  SubprocessOptions options;
  options.argv = {"dvs-no-such-program-xyz"};
  auto result = RunSubprocess(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
}

TEST(SubprocessTest, MissingProgramByPathIsNotFound) {
  SubprocessOptions options;
  options.argv = {"/nonexistent/dir/program"};
  auto result = RunSubprocess(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
}

TEST(SubprocessTest, EmptyArgvIsInvalid) {
  EXPECT_EQ(RunSubprocess({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, TimeLimitKillsTheChildQuickly) {
  SubprocessOptions options;
  options.argv = {"sleep", "10"};
  options.time_limit = std::chrono::milliseconds(200);
  Clock::time_point start = Clock::now();
  SubprocessResult result = RunOk(options);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(result.timed_out);
  EXPECT_FALSE(result.cancelled);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_FALSE(result.ok());
}

TEST(SubprocessTest, TimeLimitKillsGrandchildrenHoldingThePipes) {
  SubprocessOptions options;
  // The shell's child `sleep` keeps stdout open; only a group kill ends it.
  options.argv = {"sh", "-c", "sleep 10; echo done"};
  options.time_limit = std::chrono::milliseconds(200);
  Clock::time_point start = Clock::now();
  SubprocessResult result = RunOk(options);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.stdout_text, "");
}

TEST(SubprocessTest, CancelFlagKillsTheChild) {
  std::atomic<bool> cancel{false};
  SubprocessOptions options;
  options.argv = {"sleep", "10"};
  options.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  Clock::time_point start = Clock::now();
  SubprocessResult result = RunOk(options);
  canceller.join();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(result.cancelled);
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.ok());
}

TEST(SubprocessTest, KeepsOnlyTheTailOfStderr) {
  SubprocessOptions options;
  options.argv = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x >&2; echo LAST WORDS >&2"};
  SubprocessResult result = RunOk(options);
  EXPECT_LE(result.stderr_tail.size(), 8u << 10);
  EXPECT_GT(result.stderr_tail.size(), 4u << 10);
  EXPECT_THAT(result.stderr_tail, HasSubstr("LAST WORDS\n"));
}

TEST(SubprocessTest, MemoryLimitMakesABigAllocationFail) {
  SubprocessOptions options;
  // An anonymous mapping counts against RLIMIT_AS without touching pages, so
  // the unlimited run stays fast.
  options.argv = {"python3", "-c", "import mmap; m = mmap.mmap(-1, 1 << 30); print('allocated')"};
  options.memory_limit_bytes = 256ull << 20;
  SubprocessResult limited = RunOk(options);
  EXPECT_NE(limited.exit_code, 0);
  EXPECT_THAT(limited.stderr_tail, HasSubstr("Cannot allocate memory"));

  options.memory_limit_bytes = 0;
  SubprocessResult unlimited = RunOk(options);
  EXPECT_EQ(unlimited.exit_code, 0) << unlimited.stderr_tail;
  EXPECT_EQ(unlimited.stdout_text, "allocated\n");
}

TEST(SubprocessTest, ChildDoesNotInheritOtherDescriptors) {
  int leaked = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 0);
  SubprocessOptions options;
  // Lists the shell's own descriptors, which it got from us.
  options.argv = {"sh", "-c", "ls /proc/$$/fd"};
  SubprocessResult result = RunOk(options);
  close(leaked);
  EXPECT_EQ(result.stdout_text, "0\n1\n2\n") << result.stdout_text;
}

}  // namespace
}  // namespace dvs::common
