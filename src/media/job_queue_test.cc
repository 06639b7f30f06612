#include "media/job_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dvs::media {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

// Polls `done` for up to a few seconds; for outcomes that happen on workers.
template <typename Predicate>
bool Eventually(Predicate done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// A job that runs until its cancel flag is raised, counting the returns.
JobQueue::Job UntilCancelled(std::latch* started, std::atomic<int>* returned) {
  return [started, returned](const std::atomic<bool>& cancel) {
    if (started != nullptr) started->count_down();
    while (!cancel) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);  // slow to wind down, so waiting matters
    ++*returned;
  };
}

TEST(JobQueueTest, OneWorkerRunsJobsInSubmissionOrder) {
  std::mutex mutex;
  std::vector<int> order;
  {
    JobQueue queue(1);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(queue.Submit("job" + std::to_string(i), [&, i](const std::atomic<bool>&) {
        std::lock_guard lock(mutex);
        order.push_back(i);
      }));
    }
    ASSERT_TRUE(Eventually([&] { return queue.size() == 0; }));
  }
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(JobQueueTest, NeverRunsMoreJobsThanWorkers) {
  std::atomic<int> running{0}, most{0}, finished{0};
  JobQueue queue(2);
  for (int i = 0; i < 8; ++i) {
    queue.Submit(std::to_string(i), [&](const std::atomic<bool>&) {
      int now = ++running;
      for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(30ms);
      --running;
      ++finished;
    });
  }
  ASSERT_TRUE(Eventually([&] { return finished == 8; }));
  EXPECT_EQ(most, 2);
}

TEST(JobQueueTest, RefusesAnIdThatIsQueuedOrRunningButNotOneThatFinished) {
  std::latch started(1);
  std::atomic<int> returned{0};
  JobQueue queue(1);
  ASSERT_TRUE(queue.Submit("a", UntilCancelled(&started, &returned)));
  started.wait();
  EXPECT_FALSE(queue.Submit("a", [](const std::atomic<bool>&) {}));  // running
  ASSERT_TRUE(queue.Submit("b", [](const std::atomic<bool>&) {}));
  EXPECT_FALSE(queue.Submit("b", [](const std::atomic<bool>&) {}));  // queued
  EXPECT_EQ(queue.size(), 2u);
  queue.Cancel("a");
  ASSERT_TRUE(Eventually([&] { return queue.size() == 0; }));
  EXPECT_TRUE(queue.Submit("a", [](const std::atomic<bool>&) {}));
}

TEST(JobQueueTest, CancellingAQueuedJobDropsIt) {
  std::latch started(1);
  std::atomic<int> returned{0};
  std::atomic<bool> dropped_job_ran{false};
  JobQueue queue(1);
  queue.Submit("busy", UntilCancelled(&started, &returned));
  started.wait();
  queue.Submit("queued", [&](const std::atomic<bool>&) { dropped_job_ran = true; });
  queue.Cancel("queued");
  EXPECT_EQ(queue.size(), 1u);
  queue.Cancel("busy");
  queue.Shutdown();
  EXPECT_FALSE(dropped_job_ran);
}

TEST(JobQueueTest, CancellingARunningJobRaisesItsFlagAndWaitsForIt) {
  std::latch started(1);
  std::atomic<int> returned{0};
  JobQueue queue(2);
  queue.Submit("a", UntilCancelled(&started, &returned));
  started.wait();
  queue.Cancel("a");
  EXPECT_EQ(returned, 1);  // Cancel came back only after the job did
  EXPECT_EQ(queue.size(), 0u);
  queue.Cancel("unknown");  // no such job: nothing to do
}

TEST(JobQueueTest, ShutdownCancelsEverythingAndRefusesNewJobs) {
  std::latch started(2);
  std::atomic<int> returned{0};
  std::atomic<bool> queued_job_ran{false};
  JobQueue queue(2);
  queue.Submit("a", UntilCancelled(&started, &returned));
  queue.Submit("b", UntilCancelled(&started, &returned));
  queue.Submit("c", [&](const std::atomic<bool>&) { queued_job_ran = true; });
  started.wait();
  queue.Shutdown();
  EXPECT_EQ(returned, 2);
  EXPECT_FALSE(queued_job_ran);
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_FALSE(queue.Submit("d", [](const std::atomic<bool>&) {}));
  queue.Shutdown();  // idempotent
}

TEST(JobQueueTest, AThrowingJobDoesNotStopItsWorker) {
  std::atomic<bool> later_job_ran{false};
  JobQueue queue(1);
  queue.Submit("bad", [](const std::atomic<bool>&) { throw std::runtime_error("boom"); });
  queue.Submit("weird", [](const std::atomic<bool>&) { throw 42; });
  queue.Submit("good", [&](const std::atomic<bool>&) { later_job_ran = true; });
  EXPECT_TRUE(Eventually([&] { return later_job_ran.load(); }));
}

}  // namespace
}  // namespace dvs::media
