// The server's limits over real sockets: a pending response (?wait=1) holds
// no worker thread, and a streaming body that trickles or runs past its
// deadline is dropped with 408 and its sink destroyed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "http/test_client.h"

namespace dvs::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing_client::TestClient;
using testing_client::TestResponse;

// Answers after `polls` polls; counts the polls under way at once.
class CountdownPoller : public ResponsePoller {
 public:
  CountdownPoller(int polls, std::atomic<int>* total) : left_(polls), total_(total) {}
  milliseconds interval() const override { return milliseconds(50); }
  std::optional<Response> Poll(bool last) override {
    ++*total_;
    if (--left_ > 0 && !last) return std::nullopt;
    return Response::Text(200, "settled");
  }

 private:
  int left_;
  std::atomic<int>* total_;
};

// Counts live sinks, so a test sees that a dropped upload's sink is gone.
class CountingSink : public BodySink {
 public:
  explicit CountingSink(std::atomic<int>* live) : live_(live) { ++*live_; }
  ~CountingSink() override { --*live_; }
  absl::Status Consume(std::string_view chunk) override { return absl::OkStatus(); }
  Response Finish() override { return Response::Text(201, "stored"); }

 private:
  std::atomic<int>* live_;
};

class ServerLimitsTest : public ::testing::Test {
 protected:
  ServerLimitsTest() {
    options_.port = 0;
    options_.worker_threads = 1;  // one waiting request would block everything else
    options_.handle_signals = false;
    options_.upload_pace = {
        .min_bytes_per_s = 10'000, .window = milliseconds(500), .deadline = seconds(3)};
  }
  ~ServerLimitsTest() override {
    if (!server_) return;
    server_->Stop();
    run_thread_.join();
  }

  void Start() {
    Router router;
    router.Add("GET", "/wait", [this](Request&) {
      Response response;
      response.pending = std::make_unique<CountdownPoller>(40, &polls_);  // about 2 s
      return response;
    });
    router.Add("GET", "/quick", [](Request&) { return Response::Text(200, "quick"); });
    router.AddStreaming("POST", "/upload", [this](Request&) -> SinkResult {
      return std::make_unique<CountingSink>(&live_sinks_);
    });
    server_ = std::make_unique<Server>(options_, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    run_thread_ = std::thread([this] { server_->Run(); });
  }

  // Sends an upload head declaring `length` bytes.
  TestClient StartUpload(size_t length) {
    TestClient client(server_->port());
    client.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
                "\r\n\r\n");
    return client;
  }

  using SinkResult = absl::StatusOr<std::unique_ptr<BodySink>>;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::thread run_thread_;
  std::atomic<int> polls_{0};
  std::atomic<int> live_sinks_{0};
};

TEST_F(ServerLimitsTest, WaitingRequestsHoldNoWorkerThread) {
  Start();
  std::vector<TestClient> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.emplace_back(server_->port());
    waiting.back().Send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  // Let the waits begin, then a plain request must get the only worker.
  for (auto deadline = steady_clock::now() + seconds(10);
       polls_ < 3 && steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  TestClient quick(server_->port());
  auto asked = steady_clock::now();
  quick.Send("GET /quick HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse answer = quick.ReadResponse();
  EXPECT_EQ(answer.status, 200);
  EXPECT_LT(steady_clock::now() - asked, milliseconds(1500));
  for (TestClient& client : waiting) {
    TestResponse settled = client.ReadResponse();
    EXPECT_EQ(settled.status, 200);
    EXPECT_EQ(settled.body, "settled");
  }
}

TEST_F(ServerLimitsTest, ATricklingUploadGets408AndItsSinkIsDestroyed) {
  Start();
  TestClient client = StartUpload(1 << 20);
  std::string byte = "x";
  TestResponse response;
  // A byte every 100 ms: 10 bytes/s against a minimum of 10000.
  for (int i = 0; i < 50 && live_sinks_ >= 0; ++i) {
    client.Send(byte);
    std::this_thread::sleep_for(milliseconds(100));
    if (i == 2) {
      EXPECT_EQ(live_sinks_, 1);
    }
  }
  response = client.ReadResponse();
  EXPECT_EQ(response.status, 408);
  EXPECT_NE(response.body.find("too slow"), std::string::npos) << response.body;
  for (auto deadline = steady_clock::now() + seconds(10);
       live_sinks_ > 0 && steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(live_sinks_, 0);
}

TEST_F(ServerLimitsTest, AnUploadPastItsDeadlineIsDropped) {
  options_.upload_pace.min_bytes_per_s = 0;
  Start();
  TestClient client = StartUpload(1 << 30);
  std::string chunk(64 << 10, 'x');
  auto started = steady_clock::now();
  // Fast enough for any rate, but never done: the 3 s deadline ends it. (The
  // server drains what comes for 2 s after its answer, then closes; sending
  // past that would reset the connection before the answer is read.)
  while (steady_clock::now() - started < seconds(4)) {
    client.Send(chunk);
    std::this_thread::sleep_for(milliseconds(50));
  }
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 408);
  EXPECT_NE(response.body.find("longer than its limit of 3.0 s"), std::string::npos)
      << response.body;
}

TEST_F(ServerLimitsTest, AnUploadThatKeepsThePaceIsStored) {
  Start();
  TestClient client = StartUpload(200'000);
  std::string chunk(20'000, 'x');
  for (int i = 0; i < 10; ++i) {
    client.Send(chunk);
    std::this_thread::sleep_for(milliseconds(100));
  }
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 201);
}

}  // namespace
}  // namespace dvs::http
