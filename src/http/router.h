// Maps a method and a path to a handler. Patterns are literal segments and
// ":name" segments that capture one percent-decoded segment ("/videos/:id").
// HEAD requests match GET routes. Built before the server starts, then only
// read: Find is thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace dvs::http {

// Runs on a worker thread; may block.
using Handler = std::function<Response(Request& request)>;
// Runs on an I/O thread and must never wait (on a lock, a database or the
// network): answers with what is at hand (memory, a local file), or returns
// nullopt and the request goes to the route's Handler on a worker thread.
// Hot requests (a cached manifest, a local segment) are then served without
// a thread hop.
using AtHandHandler = std::function<std::optional<Response>(Request& request)>;
// For streaming routes: called with the request head (no body yet) on a worker
// thread; returns where the body goes, or an error response's status.
using SinkFactory = std::function<absl::StatusOr<std::unique_ptr<BodySink>>(Request& request)>;

// request.path fit for a log: the segments the matched route names ":sig"
// (a signed URL's signature) are replaced by "REDACTED". The query, which
// may carry anything, is never part of it.
std::string LoggablePath(const Request& request);

class Router {
 public:
  void Add(std::string method, std::string_view pattern, Handler handler,
           AtHandHandler at_hand = nullptr);
  void AddStreaming(std::string method, std::string_view pattern, SinkFactory factory);

  struct Route {
    std::string method;
    std::string pattern;  // as added: "/videos/:id"
    std::vector<std::string> segments;
    Handler handler;           // set for plain routes
    AtHandHandler at_hand;     // optional, for plain routes
    SinkFactory sink_factory;  // set for streaming routes
  };
  struct Match {
    const Route* route = nullptr;     // null: no route
    bool method_not_allowed = false;  // the path matched, with another method
    std::vector<std::string> params;
  };
  // `path` is still percent-encoded (Request::path).
  Match Find(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace dvs::http
