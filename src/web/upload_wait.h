// The answers to a complete upload for API clients: the video's JSON at once
// (202), or with ?wait=1 once the video is ready or failed (200). The wait
// holds no thread: it is a pending response (http::ResponsePoller) that the
// HTTP server polls between timer waits on its I/O side.
#pragma once

#include <chrono>
#include <string>

#include "http/message.h"
#include "metadata/metadata_service.h"
#include "web/upload.h"

namespace dvs::web {

// How often a waiting upload reads its video's record.
inline constexpr std::chrono::milliseconds kUploadWaitPoll{250};

// The video's JSON (with the files stored so far) and its page as Location.
http::Response AcceptedVideoResponse(const UploadContext& context, const http::Request& head,
                                     const metadata::VideoMetadata& meta, int http_status);

// A pending response that becomes AcceptedVideoResponse(…, 200) when video
// `id` is no longer processing, or when options.upload_wait_limit has passed
// (then it still says "processing"). `head` is copied.
http::Response WaitForVideo(const UploadContext& context, const http::Request& head,
                            std::string id);

}  // namespace dvs::web
