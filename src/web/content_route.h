// GET/HEAD /content/:id/:file — a file named in the video's current file
// index, with its Content-Type, Content-Length, ETag (its SHA-256), Range
// (206/416) and caching headers, streamed from the video's content folder.
// A name the index does not list is 404, whatever the folder holds.
#pragma once

#include <optional>
#include <string_view>

#include "content/content_service.h"
#include "http/message.h"
#include "metadata/metadata_service.h"
#include "web/file_index_store.h"

namespace dvs::web {

std::string_view ContentTypeFor(std::string_view filename);

http::Response ServeContent(http::Request& request, metadata::VideoMetadataService& metadata,
                            FileIndexStore& indexes, content::VideoContentService& content);

// The same answer when it can be given at once, for the I/O thread: the
// record and its index are in memory and the file in memory or a local
// folder (VideoContentService::ReadWithoutWaiting). nullopt otherwise.
std::optional<http::Response> ServeContentAtHand(http::Request& request,
                                                 metadata::VideoMetadataService& metadata,
                                                 FileIndexStore& indexes,
                                                 content::VideoContentService& content);

}  // namespace dvs::web
