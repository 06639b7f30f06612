// Test-only: a blocking HTTP/1.1 client over a POSIX socket for server_test
// (which must not include Boost). Not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace dvs::http::testing_client {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool truncated = false;  // the connection closed before Content-Length bytes came
};

// Every read times out after a few seconds so that a broken server fails the test instead of
// hanging it.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    EXPECT_GE(fd_, 0);
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }
  TestClient(TestClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~TestClient() {
    if (fd_ >= 0) close(fd_);
  }

  // Sends everything; a server that closed early makes this stop quietly.
  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Ends the sending side (a client that stops mid-request); reads go on.
  void StopSending() { shutdown(fd_, SHUT_WR); }

  TestResponse ReadResponse(bool head = false) {
    TestResponse response;
    size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return response;
    }
    ParseHead(pending_.substr(0, header_end), response);
    pending_.erase(0, header_end + 4);
    size_t length = head ? 0
                         : std::stoul(response.headers["content-length"].empty()
                                          ? "0"
                                          : response.headers["content-length"]);
    while (pending_.size() < length) {
      if (!Fill()) {
        response.truncated = true;
        break;
      }
    }
    response.body = pending_.substr(0, std::min(length, pending_.size()));
    pending_.erase(0, response.body.size());
    return response;
  }

  // True when the server closes the connection (EOF or reset) in time.
  bool WaitForClose(milliseconds timeout) {
    auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      char buffer[65536];
      ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    }
    return false;
  }

 private:
  bool Fill() {
    char buffer[65536];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  static void ParseHead(const std::string& head, TestResponse& response) {
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() >= 12) response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(tolower(c));
      size_t value_start = std::min(line.find_first_not_of(' ', colon + 1), line.size());
      response.headers[name] = line.substr(value_start);
    }
  }

  int fd_;
  std::string pending_;
};

}  // namespace dvs::http::testing_client
