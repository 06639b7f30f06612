// GET/HEAD /content/:id/:file — a stored file with its Content-Type,
// Content-Length, ETag (its SHA-256 when known), Range (206/416) and caching
// headers, streamed from the content service.
#pragma once

#include <optional>
#include <string_view>

#include "content/content_service.h"
#include "http/message.h"
#include "metadata/metadata_service.h"

namespace dvs::web {

std::string_view ContentTypeFor(std::string_view filename);

http::Response ServeContent(http::Request& request, metadata::VideoMetadataService& metadata,
                            content::VideoContentService& content);

// The same answer when it can be given at once, for the I/O thread: the
// record is in memory and the file in memory or a local folder
// (VideoContentService::ReadWithoutWaiting). nullopt otherwise.
std::optional<http::Response> ServeContentAtHand(http::Request& request,
                                                 metadata::VideoMetadataService& metadata,
                                                 content::VideoContentService& content);

}  // namespace dvs::web
