#include "http/multipart.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "http/text.h"

namespace dvs::http {
namespace {

using internal::EqualsIgnoreCase;
using internal::StripLeadingWhitespace;
using internal::StripWhitespace;

constexpr size_t kMaxHeaderBytes = 16 << 10;
constexpr size_t kMaxBoundaryLength = 70;  // RFC 2046 §5.1.1
constexpr size_t kMaxPaddingBytes = 256;   // whitespace allowed after a delimiter
constexpr std::string_view kHeaderEnd = "\r\n\r\n";

using Parameters = std::vector<std::pair<std::string, std::string>>;

// A quoted-string value. Browsers percent-encode '"' in filenames and leave
// backslashes alone (old Windows paths), while other clients escape '"' and
// '\' with a backslash: \" and \\ are unescaped, any other backslash is kept.
absl::StatusOr<std::string> ConsumeQuoted(std::string_view* text) {
  std::string value;
  for (size_t i = 1; i < text->size(); ++i) {
    char c = (*text)[i];
    if (c == '"') {
      text->remove_prefix(i + 1);
      return value;
    }
    if (c == '\\' && i + 1 < text->size() && ((*text)[i + 1] == '"' || (*text)[i + 1] == '\\')) {
      c = (*text)[++i];
    }
    value.push_back(c);
  }
  return absl::InvalidArgumentError("unterminated quoted string");
}

// `;name=value` pairs after a media type or disposition type; names lower-cased.
absl::StatusOr<Parameters> ParseParameters(std::string_view text) {
  Parameters parameters;
  while (true) {
    text = StripLeadingWhitespace(text);
    if (text.empty()) return parameters;
    if (!text.starts_with(';')) return absl::InvalidArgumentError("expected ';'");
    text.remove_prefix(1);
    text = StripLeadingWhitespace(text);
    if (text.empty()) return parameters;  // a trailing ';' is harmless
    size_t equals = text.find('=');
    if (equals == std::string_view::npos)
      return absl::InvalidArgumentError("parameter without '='");
    std::string name(StripWhitespace(text.substr(0, equals)));
    std::transform(name.begin(), name.end(), name.begin(), internal::LowerAscii);
    text = StripLeadingWhitespace(text.substr(equals + 1));
    std::string value;
    if (text.starts_with('"')) {
      ASSIGN_OR_RETURN(value, ConsumeQuoted(&text));
    } else {
      size_t end = std::min(text.find(';'), text.size());
      value = std::string(internal::StripTrailingWhitespace(text.substr(0, end)));
      text.remove_prefix(end);
    }
    parameters.emplace_back(std::move(name), std::move(value));
  }
}

std::optional<std::string> FindParameter(const Parameters& parameters, std::string_view name) {
  for (const auto& [key, value] : parameters) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// Splits "type; params" and checks the type (case-insensitive).
absl::StatusOr<Parameters> ParseTyped(std::string_view value, std::string_view expected_type) {
  size_t semicolon = std::min(value.find(';'), value.size());
  if (!EqualsIgnoreCase(StripWhitespace(value.substr(0, semicolon)), expected_type)) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", common::AsAbsl(expected_type)));
  }
  return ParseParameters(value.substr(semicolon));
}

bool IsBoundaryChar(char c) {
  bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return alnum || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

absl::Status ValidateBoundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryLength || boundary.back() == ' ' ||
      !std::all_of(boundary.begin(), boundary.end(), IsBoundaryChar)) {
    return absl::InvalidArgumentError("invalid multipart boundary");
  }
  return absl::OkStatus();
}

absl::Status ApplyPartHeader(std::string_view line, PartHeaders* part, bool* has_disposition) {
  size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos || line.front() == ' ' ||
      line.front() == '\t') {
    return absl::InvalidArgumentError("malformed part header line");
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = StripWhitespace(line.substr(colon + 1));
  if (EqualsIgnoreCase(name, "Content-Type")) {
    part->content_type = std::string(value);
  } else if (EqualsIgnoreCase(name, "Content-Disposition")) {
    ASSIGN_OR_RETURN(Parameters parameters, ParseTyped(value, "form-data"));
    std::optional<std::string> field_name = FindParameter(parameters, "name");
    if (!field_name) return absl::InvalidArgumentError("part without a field name");
    part->name = std::move(*field_name);
    part->filename = FindParameter(parameters, "filename");
    *has_disposition = true;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type) {
  absl::StatusOr<Parameters> parameters = ParseTyped(content_type, "multipart/form-data");
  if (!parameters.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a multipart/form-data body: ", parameters.status().message()));
  }
  std::optional<std::string> boundary = FindParameter(*parameters, "boundary");
  if (!boundary) return absl::InvalidArgumentError("multipart body without a boundary");
  RETURN_IF_ERROR(ValidateBoundary(*boundary));
  return *boundary;
}

// The buffer starts as "\r\n" so that a first boundary at the very start of
// the body is found by the same search as every later one.
MultipartParser::MultipartParser(std::string boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + boundary), callbacks_(std::move(callbacks)), buffer_("\r\n") {}

absl::Status MultipartParser::Feed(std::string_view chunk) {
  if (state_ == State::kFailed)
    return absl::InvalidArgumentError("multipart parser failed earlier");
  if (state_ == State::kEpilogue) return absl::OkStatus();  // the epilogue is ignored
  buffer_.append(chunk);
  bool progressed = true;
  while (progressed) {
    progressed = false;
    if (absl::Status status = Step(&progressed); !status.ok()) {
      state_ = State::kFailed;
      buffer_.clear();
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status MultipartParser::Finish() {
  if (state_ == State::kEpilogue) return absl::OkStatus();
  if (state_ == State::kFailed)
    return absl::InvalidArgumentError("multipart parser failed earlier");
  state_ = State::kFailed;
  return absl::InvalidArgumentError("multipart body ends before its closing boundary");
}

absl::Status MultipartParser::Step(bool* progressed) {
  switch (state_) {
    case State::kPreamble:
      return SkipPreamble(progressed);
    case State::kDelimiter:
      return AfterDelimiter(progressed);
    case State::kHeaders:
      return ReadHeaders(progressed);
    case State::kBody:
      return ReadBody(progressed);
    case State::kEpilogue:
      buffer_.clear();
      return absl::OkStatus();
    case State::kFailed:
      break;
  }
  return absl::InternalError("multipart parser in failed state");
}

absl::Status MultipartParser::SkipPreamble(bool* progressed) {
  size_t found = buffer_.find(delimiter_);
  if (found == std::string::npos) {
    buffer_.erase(0, SafePrefixLength());
    return absl::OkStatus();
  }
  buffer_.erase(0, found);
  state_ = State::kDelimiter;
  *progressed = true;
  return absl::OkStatus();
}

// The buffer starts with the delimiter: "--" closes the body, optional
// whitespace and CRLF start the next part.
absl::Status MultipartParser::AfterDelimiter(bool* progressed) {
  const size_t after = delimiter_.size();
  if (buffer_.size() < after + 2) return absl::OkStatus();
  if (buffer_.compare(after, 2, "--") == 0) {
    buffer_.clear();
    state_ = State::kEpilogue;
    *progressed = true;
    return absl::OkStatus();
  }
  // The padding is judged by its length alone, so that where the body is
  // split into reads never changes the outcome.
  size_t end = buffer_.find_first_not_of(" \t", after);
  size_t padding = (end == std::string::npos ? buffer_.size() : end) - after;
  if (padding > kMaxPaddingBytes) {
    return absl::InvalidArgumentError("too much padding after a multipart boundary");
  }
  if (end == std::string::npos || end + 1 >= buffer_.size()) return absl::OkStatus();
  if (buffer_.compare(end, 2, "\r\n") != 0) {
    return absl::InvalidArgumentError("malformed multipart boundary line");
  }
  buffer_.erase(0, end);  // keep the CRLF: the header search starts with it
  state_ = State::kHeaders;
  header_bytes_ = 0;
  *progressed = true;
  return absl::OkStatus();
}

// The buffer starts with the CRLF that ended the boundary line, so a part with
// no header lines is just "\r\n\r\n".
absl::Status MultipartParser::ReadHeaders(bool* progressed) {
  size_t from = header_bytes_ >= kHeaderEnd.size() ? header_bytes_ - (kHeaderEnd.size() - 1) : 0;
  size_t found = buffer_.find(kHeaderEnd, from);
  if (found == std::string::npos) {
    header_bytes_ = buffer_.size();
    // Too large only once no header end can start within the limit any more:
    // the same verdict as for a block that arrives whole.
    if (header_bytes_ > kMaxHeaderBytes + kHeaderEnd.size() - 1) {
      return absl::InvalidArgumentError("multipart part headers are too large");
    }
    return absl::OkStatus();
  }
  if (found > kMaxHeaderBytes)
    return absl::InvalidArgumentError("multipart part headers are too large");
  std::string_view block =
      found == 0 ? std::string_view() : std::string_view(buffer_).substr(2, found - 2);
  RETURN_IF_ERROR(ParseHeaders(block));
  buffer_.erase(0, found + kHeaderEnd.size());
  state_ = State::kBody;
  *progressed = true;
  return absl::OkStatus();
}

absl::Status MultipartParser::ParseHeaders(std::string_view block) {
  PartHeaders part;
  bool has_disposition = false;
  if (!block.empty()) {
    for (std::string_view line : internal::Split(block, "\r\n")) {
      RETURN_IF_ERROR(ApplyPartHeader(line, &part, &has_disposition));
    }
  }
  if (!has_disposition) return absl::InvalidArgumentError("part without Content-Disposition");
  return callbacks_.on_part_begin ? callbacks_.on_part_begin(part) : absl::OkStatus();
}

absl::Status MultipartParser::ReadBody(bool* progressed) {
  size_t found = buffer_.find(delimiter_);
  size_t data_length = found == std::string::npos ? SafePrefixLength() : found;
  if (data_length > 0) {
    if (callbacks_.on_part_data) {
      RETURN_IF_ERROR(callbacks_.on_part_data(std::string_view(buffer_).substr(0, data_length)));
    }
    buffer_.erase(0, data_length);
  }
  if (found == std::string::npos) return absl::OkStatus();
  if (callbacks_.on_part_end) RETURN_IF_ERROR(callbacks_.on_part_end());
  state_ = State::kDelimiter;
  *progressed = true;
  return absl::OkStatus();
}

// How many leading bytes of the buffer cannot be the start of a delimiter
// (the buffer holds no whole delimiter): everything before the first tail
// position that could begin one.
size_t MultipartParser::SafePrefixLength() const {
  size_t start = buffer_.size() - std::min(buffer_.size(), delimiter_.size() - 1);
  for (size_t p = buffer_.find('\r', start); p != std::string::npos;
       p = buffer_.find('\r', p + 1)) {
    size_t tail = buffer_.size() - p;
    if (delimiter_.compare(0, tail, buffer_, p, tail) == 0) return p;
  }
  return buffer_.size();
}

}  // namespace dvs::http
