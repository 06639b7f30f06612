// The multipart parser on any Content-Type and body. Input: the Content-Type
// value, '\n', one byte that picks the chunk sizes, then the body. The body is
// parsed whole and again in chunks: both must report the same parts, bytes
// and outcome, parts must open and close in order, and no more data may come
// out than went in.
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "http/multipart.h"

namespace {

using dvs::fuzz::Check;

using dvs::http::MultipartParser;
using dvs::http::PartHeaders;

struct Outcome {
  std::string events;  // part heads, their data and ends, in order
  size_t data_bytes = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  bool operator==(const Outcome&) const = default;
};

// Chunk lengths 1..97, varied by `seed`; 0 means the whole body at once.
size_t ChunkLength(uint8_t seed, size_t index) {
  return seed == 0 ? std::string::npos : 1 + (seed * 31u + index * 17u) % 97u;
}

Outcome Parse(const std::string& boundary, std::string_view body, uint8_t seed) {
  Outcome out;
  bool in_part = false;
  MultipartParser parser(boundary, {.on_part_begin =
                                        [&](const PartHeaders& part) {
                                          Check(!in_part);
                                          in_part = true;
                                          out.events += "\n<" + part.name + "|" +
                                                        part.filename.value_or("-") + "|" +
                                                        part.content_type + ">";
                                          return absl::OkStatus();
                                        },
                                    .on_part_data =
                                        [&](std::string_view data) {
                                          Check(in_part && !data.empty());
                                          out.data_bytes += data.size();
                                          out.events.append(data);
                                          return absl::OkStatus();
                                        },
                                    .on_part_end =
                                        [&] {
                                          Check(in_part);
                                          in_part = false;
                                          out.events += "\n</>";
                                          return absl::OkStatus();
                                        }});
  absl::Status status;
  for (size_t offset = 0, i = 0; offset < body.size() && status.ok(); ++i) {
    std::string_view chunk = body.substr(offset, ChunkLength(seed, i));
    status = parser.Feed(chunk);
    offset += chunk.size();
  }
  if (status.ok()) status = parser.Finish();
  if (status.ok()) Check(!in_part);
  out.code = status.code();
  Check(out.data_bytes <= body.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos || newline + 1 >= input.size()) return 0;
  absl::StatusOr<std::string> boundary = dvs::http::MultipartBoundary(input.substr(0, newline));
  if (!boundary.ok()) {
    Check(boundary.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  Check(!boundary->empty() && boundary->size() <= 70);
  uint8_t seed = static_cast<uint8_t>(input[newline + 1]);
  std::string_view body = input.substr(newline + 2);
  Outcome whole = Parse(*boundary, body, 0);
  Outcome chunked = Parse(*boundary, body, seed);
  Check(whole == chunked);
  return 0;
}
