#include "content/s3/s3_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "content/s3/s3_protocol.h"

namespace dvs::content::s3 {

struct Channel {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~Channel() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

namespace {

constexpr size_t kMaxWholeBody = 16u << 20;  // Call's answers
constexpr size_t kMaxErrorBody = 64u << 10;  // an <Error> document
constexpr size_t kMaxBuffered = 512u << 10;  // a Stream pauses past this
constexpr size_t kMaxIdleChannels = 32;

const std::string& EmptySha256() {
  static const std::string* const kHash = new std::string(common::Sha256Hex(""));
  return *kHash;
}

// One request on a borrowed channel, driven by the calling thread.
class Transfer final : public Stream {
 public:
  Transfer(S3Client& client, const Request& request)
      : client_(client), channel_(client.TakeChannel()), request_(request) {}
  ~Transfer() override {
    curl_slist_free_all(headers_);
    if (channel_ == nullptr) return;
    curl_multi_remove_handle(channel_->multi, channel_->easy);
    // A transfer cut short leaves its connection unusable: curl closes it.
    client_.GiveBack(std::move(channel_));
  }

  // Sends the request and waits for the answer's headers; the store's error
  // (its body read) for a status of 300 or more.
  absl::Status Start() {
    if (channel_ == nullptr) return absl::InternalError("cannot make a curl handle");
    Configure();
    CURLMcode added = curl_multi_add_handle(channel_->multi, channel_->easy);
    if (added != CURLM_OK) return absl::InternalError(curl_multi_strerror(added));
    RETURN_IF_ERROR(Pump([this] { return headers_done_; }));
    if (!headers_done_) return TransportError();
    if (response_.status < 300) return absl::OkStatus();
    std::string body;
    RETURN_IF_ERROR(ReadAll(kMaxErrorBody, body).status());
    return ErrorFromResponse(response_.status, body, request_.what);
  }

  const Response& response() const override { return response_; }
  Response& mutable_response() { return response_; }

  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    if (read_at_ == buffered_.size()) {
      buffered_.clear();
      read_at_ = 0;
      if (paused_) {
        paused_ = false;
        curl_easy_pause(channel_->easy, CURLPAUSE_CONT);  // may deliver at once
      }
      RETURN_IF_ERROR(Pump([this] { return !buffered_.empty(); }));
      if (buffered_.empty()) {
        if (done_ && result_ == CURLE_OK) return 0;
        return TransportError();
      }
    }
    size_t n = std::min(max, buffered_.size() - read_at_);
    std::memcpy(buffer, buffered_.data() + read_at_, n);
    read_at_ += n;
    return n;
  }

  // Reads the rest into `out`; an error past `limit` bytes.
  absl::StatusOr<size_t> ReadAll(size_t limit, std::string& out) {
    char chunk[16384];
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, Read(chunk, sizeof(chunk)));
      if (n == 0) return out.size();
      if (out.size() + n > limit) {
        return absl::InternalError(
            absl::StrCat(request_.what, ": the answer is over ", limit, " bytes"));
      }
      out.append(chunk, n);
    }
  }

 private:
  void Configure();
  void ConfigureMethod(CURL* easy);
  absl::Status Pump(const std::function<bool()>& ready);
  absl::Status TransportError() const {
    return ErrorFromTransport(result_, error_text_, request_.what);
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* self);
  static size_t OnBody(char* data, size_t size, size_t count, void* self);
  static size_t OnUpload(char* data, size_t size, size_t count, void* self);
  static int OnSeek(void* self, curl_off_t offset, int origin);

  S3Client& client_;
  std::unique_ptr<Channel> channel_;
  const Request& request_;
  curl_slist* headers_ = nullptr;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::string error_text_;
  Response response_;
  bool headers_done_ = false;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  std::string buffered_;  // body bytes received, from read_at_ on not yet read
  size_t read_at_ = 0;
  bool paused_ = false;
  uint64_t sent_ = 0;  // of the body
};

void Transfer::Configure() {
  CURL* easy = channel_->easy;
  const S3ClientOptions& options = client_.options();
  curl_easy_reset(easy);  // keeps the open connections
  curl_easy_setopt(easy, CURLOPT_URL, options.location.Url(request_.key, request_.query).c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer_);
  std::string sigv4 = absl::StrCat("aws:amz:", options.credentials.region, ":s3");
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4.c_str());
  // Apart, not as "user:secret": an access key may hold a ':'.
  curl_easy_setopt(easy, CURLOPT_USERNAME, options.credentials.access_key.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, options.credentials.secret_key.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(options.connect_timeout.count()));
  if (request_.file_transfer) {
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, long(options.stall_timeout.count()));
  } else {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(options.request_timeout.count()));
  }
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  ConfigureMethod(easy);
  const std::string& sha256 = request_.body.has_value() ? request_.body->sha256 : EmptySha256();
  headers_ = curl_slist_append(headers_, absl::StrCat("x-amz-content-sha256: ", sha256).c_str());
  // No "Expect:" to turn 100-continue off: curl's signer would sign that
  // header although it is never sent (Swift then answers 403).
  for (const std::string& header : request_.headers) {
    headers_ = curl_slist_append(headers_, header.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
}

void Transfer::ConfigureMethod(CURL* easy) {
  const std::string& method = request_.method;
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method == "DELETE") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  if (!request_.body.has_value()) {
    if (method == "POST") curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
    if (method == "POST") curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
    return;
  }
  auto size = static_cast<curl_off_t>(request_.body->size());
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Transfer::OnUpload);
  curl_easy_setopt(easy, CURLOPT_READDATA, this);
  curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &Transfer::OnSeek);
  curl_easy_setopt(easy, CURLOPT_SEEKDATA, this);
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
  } else {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, size);
  }
}

absl::Status Transfer::Pump(const std::function<bool()>& ready) {
  while (!ready() && !done_) {
    int running = 0;
    CURLMcode code = curl_multi_perform(channel_->multi, &running);
    if (code != CURLM_OK) return absl::InternalError(curl_multi_strerror(code));
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(channel_->multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      done_ = true;
      result_ = message->data.result;
      error_text_ = error_buffer_;
    }
    if (ready() || done_) break;
    code = curl_multi_poll(channel_->multi, nullptr, 0, 1000, nullptr);
    if (code != CURLM_OK) return absl::InternalError(curl_multi_strerror(code));
  }
  return absl::OkStatus();
}

size_t Transfer::OnHeader(char* data, size_t size, size_t count, void* self_pointer) {
  auto* self = static_cast<Transfer*>(self_pointer);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {  // a new answer (after a 100 Continue, say)
    self->response_.headers.clear();
    std::string_view code = line.substr(std::min(line.find(' '), line.size()));
    code = code.substr(code.empty() ? 0 : 1, 3);
    int status = 0;
    if (absl::SimpleAtoi(absl::string_view(code.data(), code.size()), &status)) {
      self->response_.status = status;
    }
  } else if (line.empty()) {
    if (self->response_.status >= 200) self->headers_done_ = true;
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = absl::AsciiStrToLower(absl::string_view(line.data(), colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    self->response_.headers[name] = std::string(value);
  }
  return size * count;
}

size_t Transfer::OnBody(char* data, size_t size, size_t count, void* self_pointer) {
  auto* self = static_cast<Transfer*>(self_pointer);
  if (self->buffered_.size() - self->read_at_ >= kMaxBuffered) {
    self->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // curl keeps these bytes and offers them again
  }
  self->buffered_.append(data, size * count);
  return size * count;
}

size_t Transfer::OnUpload(char* data, size_t size, size_t count, void* self_pointer) {
  auto* self = static_cast<Transfer*>(self_pointer);
  const Body& body = *self->request_.body;
  size_t n = static_cast<size_t>(std::min<uint64_t>(size * count, body.size() - self->sent_));
  if (n == 0) return 0;
  if (body.fd < 0) {
    std::memcpy(data, body.bytes.data() + self->sent_, n);
  } else {
    ssize_t got = pread(body.fd, data, n, static_cast<off_t>(body.offset + self->sent_));
    if (got <= 0) return CURL_READFUNC_ABORT;
    n = static_cast<size_t>(got);
  }
  self->sent_ += n;
  return n;
}

int Transfer::OnSeek(void* self_pointer, curl_off_t offset, int origin) {
  auto* self = static_cast<Transfer*>(self_pointer);
  if (origin != SEEK_SET || offset < 0 || uint64_t(offset) > self->request_.body->size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  self->sent_ = uint64_t(offset);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

std::string Response::Header(const std::string& lower_case_name) const {
  auto found = headers.find(lower_case_name);
  return found == headers.end() ? "" : found->second;
}

S3Client::S3Client(S3ClientOptions options) : options_(std::move(options)) {
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)kInit;
}

S3Client::~S3Client() = default;

std::unique_ptr<Channel> S3Client::TakeChannel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Channel> channel = std::move(idle_.back());
      idle_.pop_back();
      return channel;
    }
  }
  auto channel = std::make_unique<Channel>();
  channel->multi = curl_multi_init();
  channel->easy = curl_easy_init();
  if (channel->multi == nullptr || channel->easy == nullptr) return nullptr;
  return channel;
}

void S3Client::GiveBack(std::unique_ptr<Channel> channel) {
  if (channel == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < kMaxIdleChannels) idle_.push_back(std::move(channel));
}

absl::StatusOr<Response> S3Client::Call(const Request& request) {
  Transfer transfer(*this, request);
  RETURN_IF_ERROR(transfer.Start());
  std::string body;
  RETURN_IF_ERROR(transfer.ReadAll(kMaxWholeBody, body).status());
  Response response = std::move(transfer.mutable_response());
  response.body = std::move(body);
  return response;
}

namespace {

// A Transfer that owns its request (a Stream outlives Open's argument).
class OwningStream final : public Stream {
 public:
  OwningStream(S3Client& client, Request request)
      : request_(std::move(request)), transfer_(client, request_) {}
  absl::Status Start() { return transfer_.Start(); }
  const Response& response() const override { return transfer_.response(); }
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    return transfer_.Read(buffer, max);
  }

 private:
  const Request request_;
  Transfer transfer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Stream>> S3Client::Open(const Request& request) {
  auto stream = std::make_unique<OwningStream>(*this, request);
  RETURN_IF_ERROR(stream->Start());
  return std::unique_ptr<Stream>(std::move(stream));
}

}  // namespace dvs::content::s3
