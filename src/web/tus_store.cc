#include "web/tus_store.h"

#include <fcntl.h>

#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/posix_file.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

constexpr char kInfoFile[] = "info";
constexpr char kDataFile[] = "data";

bool IsUploadId(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

absl::Status NoSuchUpload() { return absl::NotFoundError("no such upload"); }

std::string Serialize(const TusUpload& upload) {
  std::string text;
  auto line = [&text](std::string_view key, std::string_view value) {
    absl::StrAppend(&text, common::AsAbsl(key), "=", absl::CEscape(common::AsAbsl(value)), "\n");
  };
  line("owner", upload.owner);
  line("filename", upload.filename);
  line("visibility", upload.visibility);
  line("length", absl::StrCat(upload.length));
  line("offset", absl::StrCat(upload.offset));
  line("expires_ms", absl::StrCat(upload.expires_ms));
  line("state", TusStateName(upload.state));
  line("video_id", upload.video_id);
  line("error", upload.error);
  line("error_status", absl::StrCat(upload.error_status));
  return text;
}

absl::StatusOr<TusUpload> Parse(std::string id, const std::string& text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    std::string value;
    if (!absl::CUnescape(kv.second, &value)) return absl::DataLossError("a damaged upload record");
    fields[std::string(kv.first)] = std::move(value);
  }
  TusUpload upload{.id = std::move(id),
                   .owner = fields["owner"],
                   .filename = fields["filename"],
                   .visibility = fields["visibility"],
                   .video_id = fields["video_id"],
                   .error = fields["error"]};
  const std::string& state = fields["state"];
  bool numbers_ok = absl::SimpleAtoi(fields["length"], &upload.length) &&
                    absl::SimpleAtoi(fields["offset"], &upload.offset) &&
                    absl::SimpleAtoi(fields["expires_ms"], &upload.expires_ms) &&
                    absl::SimpleAtoi(fields["error_status"], &upload.error_status);
  if (!numbers_ok || upload.offset > upload.length) {
    return absl::DataLossError("a damaged upload record");
  }
  if (state == "done") {
    upload.state = TusUpload::State::kDone;
  } else if (state == "failed") {
    upload.state = TusUpload::State::kFailed;
  } else if (state != "receiving") {
    return absl::DataLossError("a damaged upload record");
  }
  return upload;
}

}  // namespace

std::string_view TusStateName(TusUpload::State state) {
  switch (state) {
    case TusUpload::State::kReceiving:
      return "receiving";
    case TusUpload::State::kDone:
      return "done";
    case TusUpload::State::kFailed:
      return "failed";
  }
  return "receiving";
}

TusStore::TusStore(fs::path dir, std::function<int64_t()> now_ms)
    : dir_(std::move(dir)), now_ms_(std::move(now_ms)) {}

TusStore::Lease::Lease(Lease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), id_(std::move(other.id_)) {}

TusStore::Lease::~Lease() {
  if (store_ == nullptr) return;
  std::lock_guard lock(store_->mutex_);
  store_->leased_.erase(id_);
}

fs::path TusStore::Folder(const std::string& id) const { return dir_ / id; }

fs::path TusStore::DataPath(const std::string& id) const { return Folder(id) / kDataFile; }

absl::StatusOr<TusUpload> TusStore::Create(TusUpload upload) {
  upload.id = common::RandomHex(16);
  const fs::path folder = Folder(upload.id);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return common::FsError(ec, "cannot create", dir_);
  RETURN_IF_ERROR(common::EnsureFolder(folder));
  ASSIGN_OR_RETURN(common::UniqueFd data,
                   common::OpenFd(folder / kDataFile, O_WRONLY | O_CREAT | O_TRUNC));
  RETURN_IF_ERROR(data.SyncAndClose(folder / kDataFile));
  RETURN_IF_ERROR(Save(upload));
  return upload;
}

absl::StatusOr<TusUpload> TusStore::Read(const std::string& id) {
  if (!IsUploadId(id)) return NoSuchUpload();
  std::ifstream in(Folder(id) / kInfoFile, std::ios::binary);
  if (!in) return NoSuchUpload();
  std::ostringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(TusUpload upload, Parse(id, text.str()));
  if (upload.expires_ms <= now_ms_()) {
    if (Acquire(id).ok()) (void)RemoveFolder(id);
    return NoSuchUpload();
  }
  return upload;
}

absl::Status TusStore::Save(const TusUpload& upload) {
  return common::WriteFileAtomically(Folder(upload.id) / kInfoFile, Serialize(upload));
}

absl::StatusOr<TusStore::Lease> TusStore::Acquire(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (!leased_.insert(id).second) {
    return absl::AbortedError("another request is writing this upload now; try again shortly");
  }
  return Lease(this, id);
}

absl::Status TusStore::Remove(const std::string& id) {
  if (!IsUploadId(id)) return NoSuchUpload();
  return RemoveFolder(id);
}

absl::Status TusStore::RemoveFolder(const std::string& id) {
  std::error_code ec;
  uintmax_t removed = fs::remove_all(Folder(id), ec);
  if (ec) return common::FsError(ec, "cannot remove", Folder(id));
  if (removed == 0) return NoSuchUpload();
  return common::SyncFolder(dir_);
}

size_t TusStore::RemoveExpired() {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string id = entry.path().filename().string();
    if (!IsUploadId(id)) continue;
    // Read removes what has expired; a damaged record goes too.
    absl::StatusOr<TusUpload> upload = Read(id);
    if (upload.ok()) continue;
    if (upload.status().code() == absl::StatusCode::kDataLoss) {
      absl::StatusOr<Lease> lease = Acquire(id);
      if (lease.ok()) (void)RemoveFolder(id);
    }
    std::error_code gone;
    if (!fs::exists(entry.path(), gone)) {
      ++removed;
      spdlog::info("removed upload {} (expired)", id);
    }
  }
  return removed;
}

}  // namespace dvs::web
