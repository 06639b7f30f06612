#include "content/s3/s3_protocol.h"

#include <curl/curl.h>

#include <charconv>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::content::s3 {
namespace {

// Appends the UTF-8 form of a code point (from &#NN; or &#xNN;).
void AppendUtf8(uint32_t code, std::string& out) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x110000) {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

// The character an entity stands for (without '&' and ';'); false if unknown.
bool DecodeEntity(std::string_view entity, std::string& out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [name, c] : kNamed) {
    if (entity == name) {
      out.push_back(c);
      return true;
    }
  }
  if (entity.size() < 2 || entity[0] != '#') return false;
  bool hex = entity[1] == 'x' || entity[1] == 'X';
  std::string_view digits = entity.substr(hex ? 2 : 1);
  uint32_t code = 0;
  auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
  if (error != std::errc() || end != digits.data() + digits.size()) return false;
  AppendUtf8(code, out);
  return true;
}

std::string DecodeXmlText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    size_t end = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (end != std::string_view::npos && DecodeEntity(text.substr(i + 1, end - i - 1), out)) {
      i = end;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The inner text of each <tag>...</tag> in order, not decoded.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::string open = absl::StrCat("<", common::AsAbsl(tag), ">");
  std::string close = absl::StrCat("</", common::AsAbsl(tag), ">");
  std::vector<std::string_view> found;
  for (size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at)) {
    size_t start = at + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    found.push_back(xml.substr(start, end - start));
    at = end + close.size();
  }
  return found;
}

absl::StatusCode CodeFor(long status, std::string_view s3_code) {
  // Unavailable, not a fault of the input: Swift under load answers
  // NoSuchBucket for a bucket that exists (its container server was too slow
  // to answer the proxy), and a bucket removed by mistake comes back once it
  // is made again. At start, dvs web stops on it all the same.
  if (s3_code == "NoSuchBucket") return absl::StatusCode::kUnavailable;
  if (s3_code == "BadDigest" || s3_code == "XAmzContentSHA256Mismatch") {
    return absl::StatusCode::kDataLoss;
  }
  if (status >= 500 || status == 429) {
    return status == 501 ? absl::StatusCode::kUnimplemented : absl::StatusCode::kUnavailable;
  }
  switch (status) {
    case 404:
      return absl::StatusCode::kNotFound;
    case 401:
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 409:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> found = XmlElements(xml, tag);
  if (found.empty()) return std::nullopt;
  return DecodeXmlText(found.front());
}

absl::StatusOr<ListPage> ParseListPage(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return absl::InternalError(
        absl::StrCat("the S3 store's list answer is not a ListBucketResult: ",
                     common::AsAbsl(xml.substr(0, 200))));
  }
  ListPage page;
  for (std::string_view contents : XmlElements(xml, "Contents")) {
    std::optional<std::string> key = XmlText(contents, "Key");
    if (key.has_value()) page.keys.push_back(std::move(*key));
  }
  if (XmlText(xml, "IsTruncated") == "true") {
    page.next_token = XmlText(xml, "NextContinuationToken");
    if (!page.next_token.has_value() || page.next_token->empty()) {
      return absl::InternalError("the S3 store's list is truncated without a continuation token");
    }
  }
  return page;
}

std::string CompleteMultipartBody(const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    std::string etag;
    for (char c : etags[i]) {
      if (c == '&')
        etag += "&amp;";
      else if (c == '<')
        etag += "&lt;";
      else if (c == '"')
        etag += "&quot;";
      else
        etag.push_back(c);
    }
    absl::StrAppend(&body, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>", etag,
                    "</ETag></Part>");
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

absl::Status ErrorFromResponse(long status, std::string_view body, std::string_view what) {
  std::string s3_code = XmlText(body, "Code").value_or("");
  std::string message = XmlText(body, "Message").value_or("");
  std::string text = absl::StrCat(common::AsAbsl(what), ": HTTP ", status);
  if (!s3_code.empty()) absl::StrAppend(&text, " ", s3_code);
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  return absl::Status(CodeFor(status, s3_code), text);
}

absl::Status ErrorFromTransport(int curl_code, std::string_view detail, std::string_view what) {
  std::string text = absl::StrCat(
      common::AsAbsl(what), ": ",
      detail.empty() ? curl_easy_strerror(CURLcode(curl_code)) : common::AsAbsl(detail));
  if (curl_code == CURLE_READ_ERROR || curl_code == CURLE_ABORTED_BY_CALLBACK) {
    return absl::InternalError(text);
  }
  return absl::UnavailableError(text);
}

}  // namespace dvs::content::s3
