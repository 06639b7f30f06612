// Where the source of a video's job is kept (DESIGN §9 step 5) until the
// video is ready or deleted. The upload always lands in the receiving
// server's work folder (work/jobs/<id>/source). In cluster mode (`nw`) it is
// also stored in the content service, replicated like any file, in the
// video's source folder <id>/<generation>.source (apart from the folder
// whose files are served, so it is never served), and the job record names
// that copy: any process that claims the job can fetch it. In fs mode the
// job record names the local file, which only this server can run.
//
// A local copy is used only when it is of the job's generation (a marker
// file beside it says which), so a leftover of an earlier upload of the same
// id is never transcoded as a newer one.
//
// Thread-safe (no state beyond the references).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/content_service.h"

namespace dvs::web {

class JobSources {
 public:
  // `shared`: cluster mode, sources go to the content service too.
  JobSources(content::VideoContentService& content, bool shared);

  // The content folder that keeps the source of (id, generation).
  static std::string SourceFolder(std::string_view id, std::string_view generation);

  // Keeps the upload at `local` (of video `id` at `generation`) and returns
  // what the job record's `source` is: "content:<folder>/source" once stored
  // in the content service, else the local path. A failed store falls back
  // to the local path (the job then runs only here), and is logged.
  std::string Keep(std::string_view id, std::string_view generation,
                   const std::filesystem::path& local);
  // Can this process run a job with `source`: is it in the content
  // service, or this server's own file `local` (where Fetch wants it)? A
  // file in another server's work folder is not, though it may be on this
  // machine (the local cluster).
  bool Reachable(std::string_view source, const std::filesystem::path& local) const;
  // Makes `local` hold the job's source: as it is when it is of this
  // generation, else fetched from the content service. Unavailable when the
  // source is another server's local file.
  [[nodiscard]] absl::Status Fetch(std::string_view source, std::string_view id,
                                   std::string_view generation, const std::filesystem::path& local);
  // A part of the job's work (an encoded rendition, say) that another
  // process may need: in cluster mode it is stored beside the source, as
  // `name`; else the file at `local` is kept where it is. Then FetchPart
  // makes `local` hold it in any process that can run the job.
  [[nodiscard]] absl::Status KeepPart(std::string_view id, std::string_view generation,
                                      std::string_view name, const std::filesystem::path& local);
  [[nodiscard]] absl::Status FetchPart(std::string_view id, std::string_view generation,
                                       std::string_view name, const std::filesystem::path& local);
  // Removes the copy in the content service (and the parts kept beside it),
  // if any. OK when there is none.
  [[nodiscard]] absl::Status Drop(std::string_view id, std::string_view generation);

 private:
  // Copies `name` of the content folder `folder` into `local` (whole or not at all).
  absl::Status CopyFromContent(const std::string& folder, std::string_view name,
                               const std::filesystem::path& local);
  static bool IsOfGeneration(const std::filesystem::path& local, std::string_view generation);
  static absl::Status MarkGeneration(const std::filesystem::path& local,
                                     std::string_view generation);

  content::VideoContentService& content_;
  const bool shared_;
};

}  // namespace dvs::web
