// End-to-end tests of the HTTP server over real sockets, with a small
// blocking POSIX client (no Boost here: Beast compiles slowly).
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http/test_client.h"

namespace dvs::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing_client::TestClient;
using testing_client::TestResponse;

char PatternByte(uint64_t i) { return static_cast<char>((i * 31 + i / 4096) % 251); }

std::string Pattern(size_t size, uint64_t offset = 0) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = PatternByte(offset + i);
  return data;
}

// `length` bytes of Pattern, in reads of odd sizes; fails after `fail_at` bytes.
class PatternSource : public BodySource {
 public:
  PatternSource(uint64_t length, uint64_t fail_at) : length_(length), fail_at_(fail_at) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    if (position_ >= fail_at_) return absl::DataLossError("disk on fire");
    size_t n = static_cast<size_t>(std::min<uint64_t>({max, 100003, length_ - position_}));
    for (size_t i = 0; i < n; ++i) buffer[i] = PatternByte(position_ + i);
    position_ += n;
    return n;
  }

 private:
  uint64_t length_;
  uint64_t fail_at_;
  uint64_t position_ = 0;
};

// A body already in memory; Read must never be called for it.
class InMemorySource : public BodySource {
 public:
  explicit InMemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    return absl::InternalError("Read called on a body in memory");
  }
  std::optional<std::string_view> InMemory() const override { return bytes_; }

 private:
  std::string bytes_;
};

// Pattern bytes in a temporary file, sent from there; Read must never be
// called for it.
class FileSource : public BodySource {
 public:
  explicit FileSource(uint64_t length) : length_(length) {
    char path[] = "/tmp/server-test-body-XXXXXX";
    fd_ = mkstemp(path);
    EXPECT_GE(fd_, 0);
    unlink(path);
    std::string bytes = Pattern(length);
    EXPECT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  ~FileSource() override { close(fd_); }
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    return absl::InternalError("Read called on a body in a file");
  }
  std::optional<FileRegion> InFile() const override { return FileRegion{fd_, 0, length_}; }

 private:
  int fd_ = -1;
  uint64_t length_;
};

// Keeps what it is given; fails once it has more than `fail_after` bytes.
class RecordingSink : public BodySink {
 public:
  RecordingSink(std::string* received, size_t fail_after)
      : received_(received), fail_after_(fail_after) {}
  absl::Status Consume(std::string_view chunk) override {
    received_->append(chunk);
    if (received_->size() > fail_after_) return absl::FailedPreconditionError("not a video");
    return absl::OkStatus();
  }
  Response Finish() override { return Response::Text(201, std::to_string(received_->size())); }

 private:
  std::string* received_;
  size_t fail_after_;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.io_threads = 2;
    options_.worker_threads = 4;
    options_.handle_signals = false;
    options_.upload_limit = 8 << 20;
    options_.body_limit = 64 << 10;
  }

  ~ServerTest() override { StopServer(); }

  Router MakeRouter() {
    Router router;
    router.Add("GET", "/hello/:name", [](Request& request) {
      return Response::Text(
          200, "hello " + request.params[0] + " q=" + request.QueryParam("q").value_or("-"));
    });
    router.Add("GET", "/sleep", [](Request&) {
      std::this_thread::sleep_for(milliseconds(1500));
      return Response::Text(200, "slept");
    });
    router.Add("POST", "/length", [](Request& request) {
      return Response::Text(200, std::to_string(request.body.size()));
    });
    router.Add(
        "GET", "/memo/:key",
        [](Request& request) { return Response::Text(200, "worker " + request.params[0]); },
        [](Request& request) -> std::optional<Response> {
          if (request.params[0] == "throws") throw std::runtime_error("at-hand handler broke");
          if (request.params[0] != "hot") return std::nullopt;
          Response response;
          std::string bytes = Pattern(3 << 20);
          response.source_length = bytes.size();
          response.source = std::make_unique<InMemorySource>(std::move(bytes));
          return response;
        });
    router.Add("GET", "/big", [](Request&) { return SourceResponse(5'000'000, UINT64_MAX); });
    router.Add("GET", "/file", [](Request& request) {
      Response response;
      response.source_length = std::stoull(request.QueryParam("size").value_or("0"));
      response.source = std::make_unique<FileSource>(response.source_length);
      return response;
    });
    router.Add("GET", "/broken", [](Request&) { return SourceResponse(5'000'000, 1'000'000); });
    router.AddStreaming("POST", "/upload", [this](Request& request) -> SinkResult {
      if (request.QueryParam("refuse")) return absl::PermissionDeniedError("no uploads today");
      std::lock_guard lock(mutex_);
      return std::make_unique<RecordingSink>(&uploaded_, fail_after_);
    });
    return router;
  }

  static Response SourceResponse(uint64_t length, uint64_t fail_at) {
    Response response;
    response.headers.Set("Content-Type", "video/mp4");
    response.source = std::make_unique<PatternSource>(length, fail_at);
    response.source_length = length;
    return response;
  }

  void StartServer() {
    server_ = std::make_unique<Server>(options_, MakeRouter());
    absl::Status status = server_->Start();
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_NE(server_->port(), 0);
    run_thread_ = std::thread([this] {
      server_->Run();
      run_returned_ = true;
    });
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    run_thread_.join();
    server_.reset();
  }

  TestClient Connect() { return TestClient(server_->port()); }

  using SinkResult = absl::StatusOr<std::unique_ptr<BodySink>>;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::thread run_thread_;
  std::atomic<bool> run_returned_{false};
  std::mutex mutex_;
  std::string uploaded_;
  size_t fail_after_ = SIZE_MAX;
};

TEST_F(ServerTest, GetRouteWithParams) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/w%20x?q=a+b HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello w x q=a b");
  EXPECT_EQ(response.headers["server"], "dvs");
  EXPECT_EQ(response.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_FALSE(response.headers["date"].empty());
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/one HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello one q=-");
  client.Send("GET /hello/two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  TestResponse second = client.ReadResponse();
  EXPECT_EQ(second.body, "hello two q=-");
  EXPECT_EQ(second.headers["connection"], "close");
  EXPECT_TRUE(client.WaitForClose(milliseconds(2000)));
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/a HTTP/1.1\r\nHost: t\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello a q=-");
  EXPECT_EQ(client.ReadResponse().body, "hello b q=-");
}

TEST_F(ServerTest, HeadHasContentLengthButNoBody) {
  StartServer();
  TestClient client = Connect();
  client.Send("HEAD /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse head = client.ReadResponse(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], std::to_string(std::string("hello x q=-").size()));
  // A body after the HEAD response would be read as the next response's start.
  client.Send("HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse big = client.ReadResponse(/*head=*/true);
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.headers["content-length"], "5000000");
  client.Send("GET /hello/y HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello y q=-");
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse missing = client.ReadResponse();
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["content-type"], "text/html; charset=utf-8");
  client.Send("DELETE /hello/x HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n");
  TestResponse wrong = client.ReadResponse();
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["content-type"], "application/json");
  EXPECT_NE(wrong.body.find("\"error\""), std::string::npos);
}

TEST_F(ServerTest, StreamingRouteGetsExactlyTheBytesSent) {
  StartServer();
  std::string data = Pattern(3 << 20);
  TestClient client = Connect();
  client.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(data.size()) +
              "\r\n\r\n");
  client.Send(data);
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, std::to_string(data.size()));
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(uploaded_ == data) << uploaded_.size();
}

TEST_F(ServerTest, StreamingRouteAcceptsChunkedBodies) {
  StartServer();
  std::string data = Pattern((3 << 20) + 12345, 7);
  TestClient client = Connect();
  client.Send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  size_t chunk_size = 1;
  for (size_t offset = 0; offset < data.size(); chunk_size = chunk_size * 3 + 1) {
    size_t n = std::min(chunk_size, data.size() - offset);
    char size_line[32];
    snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
    client.Send(std::string(size_line) + data.substr(offset, n) + "\r\n");
    offset += n;
  }
  client.Send("0\r\n\r\n");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 201);
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(uploaded_ == data) << uploaded_.size() << " of " << data.size();
}

TEST_F(ServerTest, PlainRouteReceivesTheWholeBody) {
  StartServer();
  TestClient client = Connect();
  std::string body = Pattern(50000);
  client.Send("POST /length HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n" + body);
  EXPECT_EQ(client.ReadResponse().body, "50000");
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  StartServer();
  TestClient client = Connect();
  client.Send(
      "POST /length HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 100);
  client.Send("hello");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "5");
}

TEST_F(ServerTest, ContentLengthOverTheLimitIs413) {
  StartServer();
  TestClient upload = Connect();
  upload.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\n\r\n");
  EXPECT_EQ(upload.ReadResponse().status, 413);
  EXPECT_TRUE(upload.WaitForClose(milliseconds(3000)));
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(uploaded_.empty());

  TestClient plain = Connect();
  plain.Send("POST /length HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n");
  EXPECT_EQ(plain.ReadResponse().status, 413);
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
  StartServer();
  TestClient client = Connect();
  client.Send("POST /length HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk = "8000\r\n" + std::string(0x8000, 'a') + "\r\n";
  for (int i = 0; i < 3; ++i) client.Send(chunk);  // 96 KiB > 64 KiB
  EXPECT_EQ(client.ReadResponse().status, 413);
}

TEST_F(ServerTest, HugeHeaderIs431) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(32 << 10, 'h') +
              "\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 431);
}

TEST_F(ServerTest, MalformedRequestIs400WithTheReason) {
  StartServer();
  TestClient client = Connect();
  client.Send(
      "POST /length HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("malformed request: multiple Content-Length"), std::string::npos)
      << response.body;
}

TEST_F(ServerTest, RequestCutShortByTheClientIs400) {
  StartServer();
  TestClient inside_head = Connect();
  inside_head.Send("GET /hello/x HTTP/1.1\r\nHost: t\r\nX-Cut: ");
  inside_head.StopSending();
  TestResponse response = inside_head.ReadResponse();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("ended inside its header"), std::string::npos) << response.body;

  TestClient inside_body = Connect();
  inside_body.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b");
  inside_body.StopSending();
  response = inside_body.ReadResponse();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("ended before its declared length"), std::string::npos)
      << response.body;
}

TEST_F(ServerTest, SlowClientIsDisconnectedAfterReadTimeout) {
  options_.read_timeout = milliseconds(300);
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/x HTTP/1.1\r\nHo");
  auto start = steady_clock::now();
  EXPECT_TRUE(client.WaitForClose(milliseconds(3000)));
  auto elapsed = steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(200));
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = milliseconds(300);
  StartServer();
  TestClient client = Connect();
  client.Send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 200);
  EXPECT_TRUE(client.WaitForClose(milliseconds(3000)));
}

TEST_F(ServerTest, BodySourceResponseArrivesIntact) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "video/mp4");
  ASSERT_EQ(response.body.size(), 5'000'000u);
  EXPECT_TRUE(response.body == Pattern(5'000'000));
  client.Send("GET /hello/again HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello again q=-");
}

TEST_F(ServerTest, AtHandHandlerAnswersOrPassesToTheWorkers) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /memo/hot HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse hot = client.ReadResponse();
  EXPECT_EQ(hot.status, 200);
  EXPECT_EQ(hot.headers["content-length"], std::to_string(3 << 20));
  EXPECT_TRUE(hot.body == Pattern(3 << 20));
  client.Send("HEAD /memo/hot HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse head = client.ReadResponse(/*head=*/true);
  EXPECT_EQ(head.headers["content-length"], std::to_string(3 << 20));
  client.Send("GET /memo/cold HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "worker cold");
  client.Send("GET /memo/throws HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "worker throws");
}

TEST_F(ServerTest, MemoryAnswersDoNotWaitForBusyWorkers) {
  options_.worker_threads = 2;
  StartServer();
  std::vector<TestClient> sleepers;
  for (int i = 0; i < 2; ++i) {
    sleepers.push_back(Connect());
    sleepers.back().Send("GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  std::this_thread::sleep_for(milliseconds(200));  // both workers now sleep 1.5 s
  TestClient client = Connect();
  steady_clock::time_point start = steady_clock::now();
  client.Send("GET /memo/hot HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 200);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  for (TestClient& sleeper : sleepers) EXPECT_EQ(sleeper.ReadResponse().body, "slept");
}

TEST_F(ServerTest, BodyInAFileArrivesIntactWhateverThePaceOfTheClient) {
  StartServer();
  TestClient client = Connect();
  const uint64_t size = 20 << 20;  // far more than the socket buffers hold
  client.Send("GET /file?size=" + std::to_string(size) + " HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(300));  // the server meets a full socket
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.truncated);
  EXPECT_TRUE(response.body == Pattern(size)) << response.body.size();
  client.Send("HEAD /file?size=5 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse(/*head=*/true).headers["content-length"], "5");
  client.Send("GET /file?size=0 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 200);
  client.Send("GET /hello/after HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello after q=-");  // the connection is still in step
}

TEST_F(ServerTest, ClientThatClosesDuringAFileBodyDoesNotHurtTheServer) {
  StartServer();
  for (int i = 0; i < 5; ++i) {
    TestClient client = Connect();
    client.Send("GET /file?size=" + std::to_string(32 << 20) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    std::this_thread::sleep_for(milliseconds(50));
  }  // each closes with most of its body unread: the server's next write gets EPIPE
  std::this_thread::sleep_for(milliseconds(200));
  TestClient client = Connect();
  client.Send("GET /hello/still HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "hello still q=-");
}

TEST_F(ServerTest, ClientThatStopsReadingAFileBodyIsDropped) {
  options_.read_timeout = milliseconds(300);
  StartServer();
  TestClient client = Connect();
  client.Send("GET /file?size=" + std::to_string(64 << 20) + " HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(1500));  // reads nothing: the server gives up
  TestResponse response = client.ReadResponse();
  EXPECT_TRUE(response.truncated);
  EXPECT_LT(response.body.size(), size_t{64} << 20);
}

TEST_F(ServerTest, FailingBodySourceClosesTheConnection) {
  StartServer();
  TestClient client = Connect();
  client.Send("GET /broken HTTP/1.1\r\nHost: t\r\n\r\n");
  TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.truncated);
  EXPECT_LT(response.body.size(), 5'000'000u);
}

TEST_F(ServerTest, SinkFactoryErrorIsAnsweredAndClosesTheConnection) {
  StartServer();
  TestClient client = Connect();
  client.Send("POST /upload?refuse=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(client.ReadResponse().status, 403);
  EXPECT_TRUE(client.WaitForClose(milliseconds(3000)));
}

TEST_F(ServerTest, ConsumeErrorStopsTheUpload) {
  fail_after_ = 100;
  StartServer();
  TestClient client = Connect();
  client.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
  client.Send(Pattern(1000000));
  EXPECT_EQ(client.ReadResponse().status, 422);
  EXPECT_TRUE(client.WaitForClose(milliseconds(3000)));
}

TEST_F(ServerTest, SlowHandlerDoesNotBlockOtherConnections) {
  options_.io_threads = 1;  // so only the worker pool can keep the fast request moving
  StartServer();
  TestClient slow = Connect();
  slow.Send("GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(100));  // the handler is now sleeping
  auto start = steady_clock::now();
  TestClient fast = Connect();
  fast.Send("GET /hello/fast HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(fast.ReadResponse().body, "hello fast q=-");
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(slow.ReadResponse().body, "slept");
}

TEST_F(ServerTest, StopMakesRunReturnAndClosesIdleConnections) {
  StartServer();
  TestClient idle = Connect();
  idle.Send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.ReadResponse().status, 200);
  auto start = steady_clock::now();
  server_->Stop();
  run_thread_.join();
  EXPECT_TRUE(run_returned_);
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  EXPECT_TRUE(idle.WaitForClose(milliseconds(1000)));
  server_.reset();
}

TEST_F(ServerTest, StopLetsARunningRequestFinish) {
  StartServer();
  TestClient slow = Connect();
  slow.Send("GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(200));
  server_->Stop();
  TestResponse response = slow.ReadResponse();
  EXPECT_EQ(response.body, "slept");
  EXPECT_EQ(response.headers["connection"], "close");
  run_thread_.join();
  server_.reset();
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  options_.max_connections = 1;
  StartServer();
  TestClient first = Connect();
  first.Send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(first.ReadResponse().status, 200);
  TestClient second = Connect();
  EXPECT_EQ(second.ReadResponse().status, 503);
}

TEST(ServerStartTest, PortInUseIsAnError) {
  ServerOptions options;
  options.port = 0;
  options.handle_signals = false;
  Server first(options, Router());
  ASSERT_TRUE(first.Start().ok());
  options.port = first.port();
  Server second(options, Router());
  absl::Status status = second.Start();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("bind"), std::string::npos) << status;
}

}  // namespace
}  // namespace dvs::http
