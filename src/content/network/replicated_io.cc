#include "content/network/replicated_io.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace dvs::content {
namespace {

size_t CountIn(const std::vector<std::string>& set, const std::set<std::string>& acked) {
  return static_cast<size_t>(std::count_if(
      set.begin(), set.end(), [&](const std::string& n) { return acked.contains(n); }));
}

// The error for a put that missed its quorum. When every failed node refused
// for the same reason that is not a node being down (the file changed while
// it was sent, say), that code is the most specific answer.
absl::Status QuorumMissed(std::string_view key, const ReplicatedPutResult& result) {
  std::string message =
      absl::StrCat("wrote ", common::AsAbsl(key), " to ", result.acked.size(), " of ",
                   result.acked.size() + result.failed.size(),
                   " nodes, short of a majority: ", DescribeAttempts(result.failed));
  // Cannot happen while the write set covers both replica sets; if it ever
  // does, say so rather than read past the end.
  if (result.failed.empty()) return absl::InternalError(message);
  absl::StatusCode code = result.failed.front().status.code();
  bool same = std::all_of(result.failed.begin(), result.failed.end(),
                          [&](const NodeAttempt& a) { return a.status.code() == code; });
  if (same && !IsNodeDownError(result.failed.front().status)) return absl::Status(code, message);
  return absl::UnavailableError(message);
}

// Streams a range from one replica and, when that replica fails mid-stream,
// carries on from the same position on the next replica holding the same
// content (same SHA-256), so a damaged block or a node dying under a long
// read does not end the response. Not thread-safe, like any ContentReader.
class ReplicaReader final : public ContentReader {
 public:
  ReplicaReader(NodePool& pool, std::string key, uint64_t offset, std::string node,
                std::unique_ptr<storage::BlobStream> stream, std::vector<std::string> spares,
                BadReplicaCallback on_bad_replica)
      : pool_(pool),
        key_(std::move(key)),
        offset_(offset),
        size_(stream->size()),
        sha256_(stream->blob().sha256),
        node_(std::move(node)),
        stream_(std::move(stream)),
        spares_(std::move(spares)),
        on_bad_replica_(std::move(on_bad_replica)) {}

  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    absl::StatusOr<size_t> got = stream_->Read(buffer, max);
    while (!got.ok()) {
      pool_.Report(node_, got.status());
      if (!Resume(got.status())) return got.status();
      got = stream_->Read(buffer, max);
    }
    done_ += *got;
    return got;
  }

 private:
  // Switches to the next spare replica at the current position; false when
  // none can take over (the caller then returns the original error).
  bool Resume(const absl::Status& error) {
    if (!IsReplicaFault(error) && !IsNodeDownError(error)) return false;
    if (done_ >= size_) return false;  // the whole-blob hash failed: bytes already handed out
    while (!spares_.empty()) {
      std::string node = std::move(spares_.front());
      spares_.erase(spares_.begin());
      absl::StatusOr<std::unique_ptr<storage::BlobStream>> next =
          pool_.Client(node).OpenRead(key_, offset_ + done_, size_ - done_);
      pool_.Report(node, next.status());
      if (!next.ok() || (*next)->blob().sha256 != sha256_) continue;
      spdlog::warn("read of {} from {} failed after {} bytes ({}); continuing from {}", key_, node_,
                   done_, error.message(), node);
      if (IsReplicaFault(error) && on_bad_replica_) on_bad_replica_(key_, node_, node);
      node_ = std::move(node);
      stream_ = std::move(*next);
      return true;
    }
    return false;
  }

  NodePool& pool_;
  const std::string key_;
  const uint64_t offset_;
  const uint64_t size_;
  const std::string sha256_;
  std::string node_;  // the replica streaming now
  std::unique_ptr<storage::BlobStream> stream_;
  std::vector<std::string> spares_;  // replicas not yet tried, in read order
  BadReplicaCallback on_bad_replica_;
  uint64_t done_ = 0;
};

}  // namespace

std::vector<std::string> AllNodesOf(const RingState& state) {
  std::set<std::string> nodes(state.nodes.begin(), state.nodes.end());
  nodes.insert(state.target_nodes().begin(), state.target_nodes().end());
  return {nodes.begin(), nodes.end()};
}

size_t MajorityOf(size_t replicas) { return replicas / 2 + 1; }

std::string DescribeAttempts(const std::vector<NodeAttempt>& attempts) {
  std::vector<std::string> parts;
  for (const NodeAttempt& attempt : attempts) {
    parts.push_back(absl::StrCat(attempt.node, ": ", attempt.status.ToString()));
  }
  return absl::StrJoin(parts, "; ");
}

bool WriteQuorumMet(const RingPlacement& placement, std::string_view key,
                    const std::set<std::string>& acked) {
  std::vector<std::string> committed = placement.current().ReplicaSetFor(key);
  if (CountIn(committed, acked) < MajorityOf(committed.size())) return false;
  if (!placement.in_transition()) return true;
  std::vector<std::string> target = placement.target().ReplicaSetFor(key);
  return CountIn(target, acked) >= MajorityOf(target.size());
}

absl::StatusOr<ReplicatedPutResult> ReplicatedPut(NodePool& pool, const RingPlacement& placement,
                                                  std::string_view key, uint64_t size,
                                                  std::string_view sha256,
                                                  const PutSourceFactory& make_source) {
  const std::vector<std::string> nodes = placement.WriteSetFor(key);
  std::vector<absl::Status> results(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) {
    absl::StatusOr<storage::PutSource> source = make_source();
    if (!source.ok()) {
      results[i] = source.status();
      return;
    }
    results[i] = pool.Client(nodes[i]).PutFrom(key, size, sha256, *source).status();
    pool.Report(nodes[i], results[i]);
  });
  ReplicatedPutResult result;
  std::set<std::string> acked;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (results[i].ok()) {
      result.acked.push_back(nodes[i]);
      acked.insert(nodes[i]);
    } else {
      result.failed.push_back({nodes[i], results[i]});
    }
  }
  if (!WriteQuorumMet(placement, key, acked)) return QuorumMissed(key, result);
  return result;
}

namespace {

// `destination` copies `key` from `source` itself (Fetch): the bytes go node
// to node. A failure that is the source's goes to `source_error`.
absl::StatusOr<uint64_t> FetchCopy(NodePool& pool, std::string_view key, const std::string& source,
                                   const std::string& destination, absl::Status& source_error) {
  absl::StatusOr<storage::FetchResult> fetched = pool.Client(destination).Fetch(key, source);
  if (!fetched.ok()) {
    if (!absl::IsUnimplemented(fetched.status())) pool.Report(destination, fetched.status());
    return fetched.status();
  }
  if (!fetched->source_error.ok()) return source_error = fetched->source_error;
  return fetched->stored.blob.size;
}

// The same copy relayed through this server, for a destination that cannot
// fetch it itself.
absl::StatusOr<uint64_t> RelayCopy(NodePool& pool, std::string_view key, const std::string& source,
                                   const std::string& destination, absl::Status& source_error) {
  absl::StatusOr<std::unique_ptr<storage::BlobStream>> stream =
      pool.Client(source).OpenCopySource(key);
  pool.Report(source, stream.status());
  if (!stream.ok()) return source_error = stream.status();
  const storage::BlobInfo blob = (*stream)->blob();
  absl::StatusOr<storage::PutResult> put = pool.Client(destination)
                                               .PutChunks(
                                                   key, blob.size, blob.sha256,
                                                   [&](std::string& chunk) -> absl::StatusOr<bool> {
                                                     absl::StatusOr<bool> more =
                                                         (*stream)->TakeChunk(chunk);
                                                     if (!more.ok()) source_error = more.status();
                                                     return more;
                                                   },
                                                   (*stream)->block_sha256());
  if (put.ok()) return blob.size;
  // The destination's DataLoss is the source's fault: the bytes it sent do
  // not hash to the blob's SHA-256.
  if (absl::IsDataLoss(put.status()) && source_error.ok()) {
    source_error = absl::DataLossError(
        absl::StrCat("the copy on ", source, " is damaged (", put.status().message(), ")"));
  }
  if (source_error.ok()) pool.Report(destination, put.status());
  return put.status();
}

}  // namespace

absl::StatusOr<uint64_t> CopyBlob(NodePool& pool, std::string_view key,
                                  const std::vector<std::string>& sources,
                                  const std::string& destination) {
  std::vector<NodeAttempt> attempts;
  for (const std::string& source : sources) {
    // Errors are told apart by whose they are: only the source's are worth
    // another source.
    absl::Status source_error;
    absl::StatusOr<uint64_t> copied = FetchCopy(pool, key, source, destination, source_error);
    // Through this server when the destination cannot make the copy alone:
    // it predates Fetch, or cannot reach a source this server may reach.
    if (absl::IsUnimplemented(copied.status()) || IsNodeDownError(source_error)) {
      source_error = absl::OkStatus();
      copied = RelayCopy(pool, key, source, destination, source_error);
    }
    if (copied.ok()) return copied;
    if (source_error.ok()) {
      return absl::Status(copied.status().code(),
                          absl::StrCat("cannot copy ", common::AsAbsl(key), " to ", destination,
                                       ": ", copied.status().message()));
    }
    if (absl::IsDataLoss(source_error)) {
      spdlog::error("copy of {} from {}: {}", key, source, source_error.message());
    }
    attempts.push_back({source, source_error});
  }
  return NoReplicaServed(absl::StrCat("copy of ", common::AsAbsl(key), " to ", destination),
                         attempts);
}

bool IsReplicaFault(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsDataLoss(status);
}

absl::Status StaleCopyError(std::string_view node, std::string_view has,
                            std::string_view expected) {
  return absl::DataLossError(
      absl::StrCat("the copy on ", common::AsAbsl(node), " is not the recorded content (sha256 ",
                   common::AsAbsl(has), ", recorded ", common::AsAbsl(expected), ")"));
}

absl::StatusOr<std::unique_ptr<ContentReader>> OpenReplicatedRead(
    NodePool& pool, std::string key, std::vector<std::string> nodes, uint64_t offset,
    uint64_t length, std::string_view expected_sha256, BadReplicaCallback on_bad_replica) {
  std::vector<NodeAttempt> attempts;
  for (size_t i = 0; i < nodes.size(); ++i) {
    absl::StatusOr<std::unique_ptr<storage::BlobStream>> stream =
        pool.Client(nodes[i]).OpenRead(key, offset, length);
    pool.Report(nodes[i], stream.status());
    if (absl::IsOutOfRange(stream.status())) return stream.status();
    // Other bytes than the recorded ones are never served, whoever put them.
    if (stream.ok() && !expected_sha256.empty() && (*stream)->blob().sha256 != expected_sha256) {
      stream = StaleCopyError(nodes[i], (*stream)->blob().sha256, expected_sha256);
    }
    if (!stream.ok()) {
      attempts.push_back({nodes[i], stream.status()});
      continue;
    }
    for (const NodeAttempt& attempt : attempts) {
      if (IsReplicaFault(attempt.status) && on_bad_replica) {
        on_bad_replica(key, attempt.node, nodes[i]);
      }
    }
    std::vector<std::string> spares(nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                    nodes.end());
    return std::make_unique<ReplicaReader>(pool, std::move(key), offset, nodes[i],
                                           std::move(*stream), std::move(spares),
                                           std::move(on_bad_replica));
  }
  return NoReplicaServed(absl::StrCat("read of ", key), attempts);
}

absl::Status NoReplicaServed(std::string_view what, const std::vector<NodeAttempt>& attempts) {
  size_t not_found = 0, damaged = 0, down = 0;
  for (const NodeAttempt& attempt : attempts) {
    if (absl::IsNotFound(attempt.status)) ++not_found;
    if (absl::IsDataLoss(attempt.status)) ++damaged;
    if (IsNodeDownError(attempt.status)) ++down;
  }
  std::string message = attempts.empty()
                            ? absl::StrCat(common::AsAbsl(what), ": no node to ask")
                            : absl::StrCat(common::AsAbsl(what),
                                           " failed on every node: ", DescribeAttempts(attempts));
  if (not_found == attempts.size() - down && not_found >= MajorityOf(attempts.size())) {
    return absl::NotFoundError(message);
  }
  if (down == 0 && damaged > 0) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

}  // namespace dvs::content
