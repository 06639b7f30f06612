// The parts of the S3 protocol that are plain text: reading the few XML
// answers dvs needs (errors, ListObjectsV2 pages, CreateMultipartUpload),
// writing the CompleteMultipartUpload body, and the one mapping of an S3
// answer or a transport failure onto absl::Status codes. No I/O here; the
// functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::content::s3 {

// The text of the first <tag>...</tag> in `xml`, its entities (&amp; &lt;
// &gt; &quot; &apos; and numeric ones) decoded; nullopt when there is none.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag);

// One page of ListObjectsV2: the keys of <Contents> (not the folders under
// <CommonPrefixes>), and the token of the next page when truncated.
struct ListPage {
  std::vector<std::string> keys;
  std::optional<std::string> next_token;
};
[[nodiscard]] absl::StatusOr<ListPage> ParseListPage(std::string_view xml);

// <CompleteMultipartUpload> with one <Part> per ETag, numbered from 1.
std::string CompleteMultipartBody(const std::vector<std::string>& etags);

// An S3 error answer as a Status: `status` the HTTP code, `body` the <Error>
// document (may be empty, as for HEAD). Unavailable for 5xx and 429 (the
// store is down or busy: callers retry), NotFound for a missing key,
// Unavailable for a missing bucket too (jobs retry), PermissionDenied for 401/403,
// OutOfRange for 416, DataLoss when the store found the body's SHA-256
// wrong; the message says what was asked (`what`), the code and the store's
// own words.
absl::Status ErrorFromResponse(long status, std::string_view body, std::string_view what);

// A transport failure (curl's code and its text) as a Status: Unavailable,
// except for a failure to read our own upload source (Internal).
absl::Status ErrorFromTransport(int curl_code, std::string_view detail, std::string_view what);

}  // namespace dvs::content::s3
