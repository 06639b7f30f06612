#include "web/job_sources.h"

#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/posix_file.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

constexpr char kContentPrefix[] = "content:";
constexpr char kFileName[] = "source";
constexpr size_t kChunk = 1 << 20;

fs::path MarkerOf(const fs::path& local) { return local.parent_path() / "source-generation"; }

// Is `source` (a local path a job record names) the file at `local`, in
// this server's work folder? Another server's work folder may be on this
// machine too (the local cluster): its files are not this server's to take.
bool IsOwnLocalFile(std::string_view source, const fs::path& local) {
  std::error_code ec;
  const fs::path own = fs::absolute(local, ec);
  return !ec && fs::path(source) == own && fs::is_regular_file(own, ec);
}

}  // namespace

JobSources::JobSources(content::VideoContentService& content, bool shared)
    : content_(content), shared_(shared) {}

std::string JobSources::SourceFolder(std::string_view id, std::string_view generation) {
  return absl::StrCat(common::AsAbsl(id), "/", common::AsAbsl(generation), ".source");
}

std::string JobSources::Keep(std::string_view id, std::string_view generation,
                             const fs::path& local) {
  const std::string local_source = fs::absolute(local).string();
  if (absl::Status marked = MarkGeneration(local, generation); !marked.ok()) {
    spdlog::warn("video {}: {}", id, marked.ToString());
  }
  if (!shared_) return local_source;
  const std::string folder = SourceFolder(id, generation);
  if (absl::Status stored = content_.WriteFile(folder, kFileName, local); !stored.ok()) {
    spdlog::warn(
        "cannot keep the source of video {} in the content service ({}): only this "
        "server can process it",
        id, stored.ToString());
    return local_source;
  }
  return absl::StrCat(kContentPrefix, folder, "/", kFileName);
}

bool JobSources::Reachable(std::string_view source, const fs::path& local) const {
  return absl::StartsWith(common::AsAbsl(source), kContentPrefix) || IsOwnLocalFile(source, local);
}

absl::Status JobSources::Fetch(std::string_view source, std::string_view id,
                               std::string_view generation, const fs::path& local) {
  if (!absl::StartsWith(common::AsAbsl(source), kContentPrefix)) {
    if (IsOwnLocalFile(source, local)) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("the source of video ", common::AsAbsl(id),
                                               " is in another server's work folder (",
                                               common::AsAbsl(source), ")"));
  }
  if (IsOfGeneration(local, generation)) return absl::OkStatus();
  std::error_code ec;
  RETURN_IF_ERROR(CopyFromContent(SourceFolder(id, generation), kFileName, local));
  spdlog::info("fetched the source of video {} ({} bytes)", id, fs::file_size(local, ec));
  return MarkGeneration(local, generation);
}

absl::Status JobSources::CopyFromContent(const std::string& folder, std::string_view name,
                                         const fs::path& local) {
  std::error_code ec;
  fs::create_directories(local.parent_path(), ec);
  if (ec) return common::FsError(ec, "cannot create folder", local.parent_path());
  ASSIGN_OR_RETURN(std::unique_ptr<content::ContentReader> reader, content_.Read(folder, name));
  ASSIGN_OR_RETURN(common::TempFile temp, common::TempFile::Create(local));
  std::vector<char> buffer(kChunk);
  while (true) {
    ASSIGN_OR_RETURN(size_t got, reader->Read(buffer.data(), buffer.size()));
    if (got == 0) break;
    RETURN_IF_ERROR(common::WriteAll(temp.fd(), std::string_view(buffer.data(), got), local));
  }
  return temp.CommitAs(local);
}

absl::Status JobSources::KeepPart(std::string_view id, std::string_view generation,
                                  std::string_view name, const fs::path& local) {
  if (!shared_) return absl::OkStatus();
  return content_.WriteFile(SourceFolder(id, generation), name, local);
}

absl::Status JobSources::FetchPart(std::string_view id, std::string_view generation,
                                   std::string_view name, const fs::path& local) {
  std::error_code ec;
  if (fs::is_regular_file(local, ec)) return absl::OkStatus();
  if (!shared_) {
    return absl::InternalError(absl::StrCat("part ", common::AsAbsl(name), " of video ",
                                            common::AsAbsl(id), " is missing from ",
                                            local.parent_path().string()));
  }
  RETURN_IF_ERROR(CopyFromContent(SourceFolder(id, generation), name, local));
  spdlog::info("fetched part {} of video {}", name, id);
  return absl::OkStatus();
}

absl::Status JobSources::Drop(std::string_view id, std::string_view generation) {
  if (!shared_) return absl::OkStatus();
  return content_.Delete(SourceFolder(id, generation));
}

bool JobSources::IsOfGeneration(const fs::path& local, std::string_view generation) {
  std::ifstream in(MarkerOf(local));
  std::string marked((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::error_code ec;
  return marked == generation && fs::is_regular_file(local, ec);
}

absl::Status JobSources::MarkGeneration(const fs::path& local, std::string_view generation) {
  return common::WriteFileAtomically(MarkerOf(local), generation);
}

}  // namespace dvs::web
