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

// The same answer when memory alone can give it (the record and the file are
// cached), without blocking, for the I/O thread; nullopt otherwise.
std::optional<http::Response> ServeContentFromMemory(http::Request& request,
                                                     metadata::VideoMetadataService& metadata,
                                                     content::VideoContentService& content);

}  // namespace dvs::web
