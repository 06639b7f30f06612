#include "http/message.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "http/router.h"
#include "http/text.h"
#include "spdlog/spdlog.h"

namespace dvs::http {
namespace {

using internal::EqualsIgnoreCase;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The phrase shown on error pages; only the common statuses need a name.
std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "Error";
  }
}

}  // namespace

void Headers::Add(std::string name, std::string value) {
  if (fields_.empty()) fields_.reserve(8);  // one allocation for a typical message
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& field) { return EqualsIgnoreCase(field.first, name); });
  Add(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [field_name, value] : fields_) {
    if (EqualsIgnoreCase(field_name, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  for (std::string_view pair : internal::Split(query, "&")) {
    size_t equals = std::min(pair.find('='), pair.size());
    if (PercentDecode(pair.substr(0, equals), /*plus_is_space=*/true) == name) {
      return PercentDecode(pair.substr(std::min(equals + 1, pair.size())), /*plus_is_space=*/true);
    }
  }
  return std::nullopt;
}

bool Request::WantsJson() const {
  if (path.starts_with("/api/")) return true;
  std::optional<std::string_view> accept = headers.Get("Accept");
  return accept && internal::ContainsIgnoreCase(*accept, "application/json");
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

Response Response::Html(int status, std::string html) {
  return Text(status, std::move(html), "text/html; charset=utf-8");
}

Response Response::Json(int status, std::string json) {
  return Text(status, std::move(json), "application/json");
}

Response Response::Redirect(int status, std::string location) {
  Response response;
  response.status = status;
  response.headers.Set("Location", std::move(location));
  return response;
}

Response Response::Error(const Request& request, const absl::Status& status) {
  const int http_status = common::HttpStatusOf(status);
  // The server's own failures are the operator's to see; 4xx are the client's.
  if (http_status >= 500) {
    spdlog::warn("{} {} answered {}: {}", request.method, LoggablePath(request), http_status,
                 status.ToString());
  }
  return ErrorResponse(request, http_status, common::AsStd(status.message()));
}

// A 401 always says how to authenticate (RFC 9110), and its page for
// browsers links to the login form.
Response ErrorResponse(const Request& request, int http_status, std::string_view message) {
  std::string text(message.empty() ? ReasonPhrase(http_status) : message);
  Response response;
  if (request.WantsJson()) {
    // Replacing invalid UTF-8 keeps dump() from throwing on odd messages.
    nlohmann::json json = {{"error", text}};
    response = Response::Json(http_status,
                              json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    std::string title = absl::StrCat(http_status, " ", common::AsAbsl(ReasonPhrase(http_status)));
    response = Response::Html(
        http_status,
        absl::StrCat("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", title,
                     "</title></head><body><h1>", title, "</h1><p>", HtmlEscape(text), "</p>",
                     http_status == 401 ? "<p><a href=\"/login\">Log in</a></p>" : "",
                     "</body></html>\n"));
  }
  if (http_status == 401) response.headers.Set("WWW-Authenticate", "Bearer realm=\"dvs\"");
  return response;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace dvs::http
