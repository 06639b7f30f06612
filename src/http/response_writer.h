// Private to the http module (includes Beast through server_core.h): writes
// a Response to a connection, a string body in one write or a BodySource in
// chunks read on the worker pool. Used by one session at a time, on its strand.
#pragma once

#include "http/message.h"
#include "http/server_core.h"

namespace dvs::http::internal {

class ResponseWriter {
 public:
  ResponseWriter(ServerCore& core, Connection& connection) : core_(core), connection_(connection) {}

  // Sends `response` (headers only for HEAD) with "Connection: close" unless
  // `keep_alive` and the server is not stopping. True when the connection can
  // serve another request.
  asio::awaitable<bool> Send(const Request& request, Response response, bool keep_alive);

 private:
  asio::awaitable<bool> SendString(bool head, Response& response, bool keep_alive);
  asio::awaitable<bool> SendSource(bool head, Response& response, bool keep_alive);
  asio::awaitable<bool> SendMemory(bool head, Response& response, std::string_view body,
                                   bool keep_alive);
  asio::awaitable<bool> SendFile(bool head, Response& response, FileRegion region, bool keep_alive);
  asio::awaitable<bool> WaitUntilWritable();
  asio::awaitable<bool> Write(std::string_view head, std::string_view body);
  // Tells ServerOptions::on_exchange what became of the request.
  void Report(const Request& request, int status, uint64_t body_bytes, bool sent);

  ServerCore& core_;
  Connection& connection_;
};

}  // namespace dvs::http::internal
