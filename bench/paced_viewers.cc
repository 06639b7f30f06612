// Viewers at a player's pace, measured by a client that costs the machine
// little: one thread, epoll, no allocation per response. Each viewer holds
// its own keep-alive connection, starts at a random moment within the first
// segment's time, fetches the manifest, then the segment every
// --segment-seconds until --seconds are up. Latency runs from the moment a
// request is due (connect included for the first) to its last byte.
//
//   paced_viewers --port P --manifest PATH --manifest-bytes N
//                 --segment PATH --segment-bytes N
//                 [--viewers 1000] [--seconds 12] [--segment-seconds 4]
//
// Prints one JSON object: {"manifest": {...}, "segment": {...}} with
// requests, ok, errors, bad (not 200 or not the expected length), the
// kinds of errors, and p50/p90/p99/max in milliseconds.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kRequestTimeoutMs = 10000;

double MsSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

struct Options {
  int port = 0;
  std::string manifest;
  long manifest_bytes = -1;
  std::string segment;
  long segment_bytes = -1;
  int viewers = 1000;
  double seconds = 12;
  double segment_seconds = 4;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(
      stderr,
      "paced_viewers: %s\nusage: paced_viewers --port P --manifest PATH --manifest-bytes N "
      "--segment PATH --segment-bytes N [--viewers 1000] [--seconds 12] "
      "[--segment-seconds 4]\n",
      why);
  std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  const std::map<std::string_view, std::function<void(const char*)>> setters = {
      {"--port", [&](const char* v) { options.port = std::atoi(v); }},
      {"--manifest", [&](const char* v) { options.manifest = v; }},
      {"--manifest-bytes", [&](const char* v) { options.manifest_bytes = std::atol(v); }},
      {"--segment", [&](const char* v) { options.segment = v; }},
      {"--segment-bytes", [&](const char* v) { options.segment_bytes = std::atol(v); }},
      {"--viewers", [&](const char* v) { options.viewers = std::atoi(v); }},
      {"--seconds", [&](const char* v) { options.seconds = std::atof(v); }},
      {"--segment-seconds", [&](const char* v) { options.segment_seconds = std::atof(v); }},
  };
  for (int i = 1; i < argc; i += 2) {
    auto setter = setters.find(argv[i]);
    if (setter == setters.end()) Usage("unknown option");
    if (i + 1 >= argc) Usage("every option takes a value");
    setter->second(argv[i + 1]);
  }
  if (options.port <= 0 || options.manifest.empty() || options.segment.empty() ||
      options.manifest_bytes < 0 || options.segment_bytes < 0 || options.viewers <= 0 ||
      options.segment_seconds <= 0) {
    Usage("missing or bad option");
  }
  return options;
}

enum class Kind { kManifest, kSegment };

struct Sample {
  double ms = 0;
  int status = 0;
  long length = 0;
  std::string error;  // empty when an answer arrived
};

struct Viewer {
  int fd = -1;
  Kind kind = Kind::kManifest;
  bool busy = false;        // a request is out
  bool connecting = false;  // its connection is being made
  Clock::time_point due;    // when the current or next request was due
  Clock::time_point wake;   // the one timer that counts for this viewer
  Clock::time_point next_segment;
  std::string head;     // response head read so far
  long body_left = -1;  // -1 while the head is incomplete
  int status = 0;
  long length = 0;
};

class Client {
 public:
  explicit Client(Options options) : options_(std::move(options)), viewers_(options_.viewers) {
    epoll_ = epoll_create1(0);
    address_.sin_family = AF_INET;
    address_.sin_port = htons(static_cast<uint16_t>(options_.port));
    inet_pton(AF_INET, "127.0.0.1", &address_.sin_addr);
    manifest_request_ = Request(options_.manifest);
    segment_request_ = Request(options_.segment);
  }

  void Run() {
    const Clock::time_point start = Clock::now();
    end_ = start + Seconds(options_.seconds);
    std::mt19937 random(12345);
    std::uniform_real_distribution<double> offset(0, options_.segment_seconds);
    for (size_t i = 0; i < viewers_.size(); ++i) {
      viewers_[i].due = start + Seconds(offset(random));
      WakeAt(i, viewers_[i].due);
    }
    std::vector<epoll_event> events(256);
    size_t finished = 0;
    while (finished < viewers_.size()) {
      const Clock::time_point now = Clock::now();
      while (!timers_.empty() && timers_.top().first <= now) {
        const auto [when, i] = timers_.top();
        timers_.pop();
        if (when != viewers_[i].wake) continue;  // superseded
        if (viewers_[i].busy) {
          if (MsSince(viewers_[i].due, now) >= kRequestTimeoutMs) {
            Fail(i, "timeout");
            finished += Next(i);
          }
          continue;
        }
        finished += Start(i);
      }
      int wait_ms = 1000;
      if (!timers_.empty()) {
        wait_ms = static_cast<int>(std::max(0.0, MsSince(Clock::now(), timers_.top().first))) + 1;
      }
      const int count = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
      for (int e = 0; e < count; ++e) {
        const size_t i = events[e].data.u64;
        if (!viewers_[i].busy) {
          Idle(i);
        } else if (viewers_[i].connecting) {
          finished += Connected(i);
        } else if (Receive(i)) {
          finished += Next(i);
        }
      }
    }
  }

  void Print() const {
    std::printf("{\"manifest\": %s, \"segment\": %s, \"unasked\": %ld}\n",
                Summary(manifests_, options_.manifest_bytes).c_str(),
                Summary(segments_, options_.segment_bytes).c_str(), unasked_);
  }

 private:
  static Clock::duration Seconds(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  static std::string Request(const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  }

  void WakeAt(size_t i, Clock::time_point when) {
    viewers_[i].wake = when;
    timers_.push({when, i});
  }

  // Starts viewer i's due request, connecting first when it has no
  // connection. Returns 1 when the viewer is done (it could not start).
  int Start(size_t i) {
    Viewer& v = viewers_[i];
    v.busy = true;
    WakeAt(i, v.due + Seconds(kRequestTimeoutMs / 1000));
    if (v.fd >= 0) return Send(i);
    v.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (v.fd < 0) {
      Fail(i, std::string("socket: ") + std::strerror(errno));
      return Next(i);
    }
    int one = 1;
    setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT;
    event.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, v.fd, &event);
    if (connect(v.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0 &&
        errno != EINPROGRESS) {
      Fail(i, std::string("connect: ") + std::strerror(errno));
      return Next(i);
    }
    v.connecting = true;  // the request goes once the socket is writable
    return 0;
  }

  int Connected(size_t i) {
    Viewer& v = viewers_[i];
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &error, &size);
    v.connecting = false;
    if (error != 0) {
      Fail(i, std::string("connect: ") + std::strerror(error));
      return Next(i);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, v.fd, &event);
    return Send(i);
  }

  int Send(size_t i) {
    Viewer& v = viewers_[i];
    const std::string& request = v.kind == Kind::kManifest ? manifest_request_ : segment_request_;
    v.head.clear();
    v.body_left = -1;
    // A request of a few dozen bytes fits an empty socket buffer.
    if (send(v.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      Fail(i, std::string("send: ") + std::strerror(errno));
      return Next(i);
    }
    return 0;
  }

  // Readable between requests: the server closed the idle connection (the
  // next request reconnects), or sent what nobody asked for.
  void Idle(size_t i) {
    Viewer& v = viewers_[i];
    const ssize_t got = recv(v.fd, buffer_, sizeof buffer_, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got > 0) ++unasked_;
    close(v.fd);
    v.fd = -1;
  }

  // Reads what is there; true when the answer is complete or failed.
  bool Receive(size_t i) {
    Viewer& v = viewers_[i];
    while (true) {
      const ssize_t got = recv(v.fd, buffer_, sizeof buffer_, 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        Fail(i, got == 0 ? "closed" : std::strerror(errno));
        return true;
      }
      std::string_view data(buffer_, static_cast<size_t>(got));
      if (v.body_left < 0) {
        v.head.append(data);
        const size_t end = v.head.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (v.head.size() > 65536) {
            Fail(i, "head too long");
            return true;
          }
          continue;
        }
        if (!ParseHead(v, std::string_view(v.head).substr(0, end))) {
          Fail(i, "bad head");
          return true;
        }
        const long body_here = static_cast<long>(v.head.size() - end - 4);
        v.body_left = v.length - body_here;
      } else {
        v.body_left -= got;
      }
      if (v.body_left <= 0) {
        Record(i, Sample{MsSince(v.due, Clock::now()), v.status, v.length - v.body_left, ""});
        return true;
      }
    }
  }

  static bool ParseHead(Viewer& v, std::string_view head) {
    if (head.size() < 12 || !head.starts_with("HTTP/1.1 ")) return false;
    v.status = std::atoi(std::string(head.substr(9, 3)).c_str());
    v.length = -1;
    size_t line = head.find("\r\n");
    while (line != std::string_view::npos) {
      const size_t next = head.find("\r\n", line + 2);
      std::string_view field = head.substr(
          line + 2, next == std::string_view::npos ? std::string_view::npos : next - line - 2);
      constexpr std::string_view kName = "content-length:";
      if (field.size() > kName.size() &&
          std::equal(kName.begin(), kName.end(), field.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
          })) {
        v.length = std::atol(std::string(field.substr(kName.size())).c_str());
      }
      line = next;
    }
    return v.length >= 0;
  }

  void Record(size_t i, Sample sample) {
    (viewers_[i].kind == Kind::kManifest ? manifests_ : segments_).push_back(std::move(sample));
  }

  // Records a failure and drops the connection (the next request reconnects).
  void Fail(size_t i, std::string error) {
    Viewer& v = viewers_[i];
    Record(i, Sample{MsSince(v.due, Clock::now()), 0, 0, std::move(error)});
    if (v.fd >= 0) close(v.fd);  // also leaves the epoll set
    v.fd = -1;
    v.connecting = false;
  }

  // After viewer i's answer: schedules its next segment, or ends it. Returns
  // 1 when the viewer is done.
  int Next(size_t i) {
    Viewer& v = viewers_[i];
    v.busy = false;
    const Clock::time_point now = Clock::now();
    if (v.kind == Kind::kManifest) {
      v.kind = Kind::kSegment;
      v.next_segment = now;
    } else {
      v.next_segment += Seconds(options_.segment_seconds);
    }
    if (v.next_segment >= end_) {
      if (v.fd >= 0) close(v.fd);
      v.fd = -1;
      return 1;
    }
    v.due = std::max(v.next_segment, now);
    WakeAt(i, v.due);
    return 0;
  }

  static std::string Summary(const std::vector<Sample>& samples, long expected_length) {
    std::vector<double> ok;
    long errors = 0, bad = 0;
    std::map<std::string, long> kinds;
    for (const Sample& s : samples) {
      if (!s.error.empty()) {
        ++errors;
        ++kinds[s.error];
      } else if (s.status != 200 || s.length != expected_length) {
        ++bad;
      } else {
        ok.push_back(s.ms);
      }
    }
    std::sort(ok.begin(), ok.end());
    auto percentile = [&](double p) -> std::string {
      if (ok.empty()) return "null";
      size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(ok.size())));
      return std::to_string(ok[std::min(ok.size() - 1, rank == 0 ? 0 : rank - 1)]);
    };
    std::string error_kinds;
    for (const auto& [kind, count] : kinds) {
      if (!error_kinds.empty()) error_kinds += ", ";
      error_kinds += "\"" + kind + " x" + std::to_string(count) + "\"";
    }
    return "{\"requests\": " + std::to_string(samples.size()) +
           ", \"ok\": " + std::to_string(ok.size()) + ", \"errors\": " + std::to_string(errors) +
           ", \"bad\": " + std::to_string(bad) + ", \"errorKinds\": [" + error_kinds +
           "], \"p50\": " + percentile(50) + ", \"p90\": " + percentile(90) +
           ", \"p99\": " + percentile(99) +
           ", \"max\": " + (ok.empty() ? "null" : std::to_string(ok.back())) + "}";
  }

  const Options options_;
  std::vector<Viewer> viewers_;
  int epoll_ = -1;
  sockaddr_in address_{};
  std::string manifest_request_;
  std::string segment_request_;
  Clock::time_point end_;
  // (when, viewer): a request due, or a deadline to check.
  using Timer = std::pair<Clock::time_point, size_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<Sample> manifests_;
  std::vector<Sample> segments_;
  long unasked_ = 0;  // idle connections that received bytes
  char buffer_[256 * 1024];
};

}  // namespace

int main(int argc, char** argv) {
  auto client = std::make_unique<Client>(ParseOptions(argc, argv));
  client->Run();
  client->Print();
  return 0;
}
