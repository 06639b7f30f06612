// Presigned GET URLs for objects of an S3 bucket: AWS Signature Version 4
// carried in the query string (X-Amz-Algorithm … X-Amz-Signature), with
// `host` the only signed header and an UNSIGNED-PAYLOAD body hash, so a
// browser can fetch the object from the store itself until the URL expires.
//
// Written by hand: libcurl (CURLOPT_AWS_SIGV4) signs requests it sends, but
// cannot produce a URL for someone else to send. HMAC-SHA256 and SHA-256
// come from OpenSSL.
//
// Plain functions of their arguments (the time is passed in); thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "content/s3/s3_client.h"

namespace dvs::content::s3 {

// What one presigned GET names: the store's host (as the Host header has
// it), the request path (already %-encoded, slashes kept) and the scheme
// and authority that start the URL.
struct PresignTarget {
  std::string origin;  // "http://127.0.0.1:9000"
  std::string host;    // "127.0.0.1:9000"
  std::string path;    // "/bucket/key"
};

// "20130524T000000Z" for `time` (UTC).
std::string AmzDate(std::chrono::system_clock::time_point time);

// The signature (64 hex digits) and the whole URL of a GET of `target`,
// valid for `expires` (1 s to 7 days) from `time`.
struct Presigned {
  std::string signature;
  std::string url;
};
Presigned PresignGet(const PresignTarget& target, const S3Credentials& credentials,
                     std::chrono::system_clock::time_point time, std::chrono::seconds expires);

// The target of object `key` of `location`, path-style.
PresignTarget TargetOf(const S3Location& location, std::string_view key);

}  // namespace dvs::content::s3
